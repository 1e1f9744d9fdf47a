# Reference numbers for the bootstrap methods of combotherapy.missing from R's rbmi (compared within Monte Carlo
# error; tests/test_missing_reference.py). Same build and data handling as rbmi_reference.R (see its header):
#   TMB_COMMIT=<sha> RBMI_COMMIT=<sha> MMRM_COMMIT=<sha> R_LIBS=<library with TMB, mmrm and rbmi built from source> \
#     Rscript tests/reference/rbmi_bootstrap.R  (repo root; RBMI_BOOT_B / RBMI_BMLMI_B override the sample counts)
# Data: rbmi's antidepressant_data, outcome CHANGE, imputation model CHANGE ~ BASVAL*VISIT + THERAPY*VISIT
# (unstructured, REML), analysis lm(CHANGE ~ THERAPY + BASVAL) at each visit, events at the first missing visit
# after the last observed one; strategies MAR and JR (reference PLACEBO).
# 1. method_condmean(type = "bootstrap", n_samples = B): the point estimate is the full-data conditional-mean
#    estimate (deterministic), the SE the sd of the B bootstrap estimates. As in rbmi_reference.R, mmrm::mmrm is
#    wrapped for this R session so that every fit ends at the REML optimum (nlminb with the exact TMB Hessian, then
#    Newton steps to a gradient below 1e-10): the full-data point estimate is then exact. pool() with
#    type = "normal" and type = "percentile"; the B bootstrap estimates are stored too.
# 2. method_bmlmi(B, D): bootstrapped ML MI pooled by von Hippel and Bartlett (rbmi and mmrm unmodified, as the
#    approximate Bayesian cases of rbmi_reference.R); the B x D per-imputation estimates are stored too.
# Both: one draws() with strategy MAR, then impute(update_strategy = ...) per strategy (rbmi's documented way).
suppressPackageStartupMessages({library(rbmi); library(jsonlite)})
set.seed(20261206)
B_CM <- as.integer(Sys.getenv("RBMI_BOOT_B", "500"))
B_ML <- as.integer(Sys.getenv("RBMI_BMLMI_B", "200"))
D_ML <- 2L
OUT <- Sys.getenv("RBMI_OUT", "tests/reference/rbmi_bootstrap.json")

GRAD_TOL <- 1e-10
nlminb_newton <- function(par, fn, gr, hessian, control = list()) {
  opt <- stats::nlminb(par, fn, gr, hessian, control = control)
  if (opt$convergence != 0) return(opt)
  p <- opt$par
  f <- fn(p)
  steps <- 0L
  for (i in seq_len(20)) {
    g <- gr(p)
    if (max(abs(g)) < GRAD_TOL) break
    p_new <- p - solve(hessian(p), as.numeric(g))
    f_new <- fn(p_new)
    if (!is.finite(f_new) || f_new > f + 1e-13 * abs(f)) break
    p <- p_new
    f <- f_new
    steps <- steps + 1L
  }
  opt$par <- p
  opt$objective <- fn(p)
  opt$message <- paste0(opt$message, "; ", steps, " Newton steps")
  opt
}
attr(nlminb_newton, "use_hessian") <- TRUE
fit_log <- new.env()
fit_log$grad <- numeric(0)
orig_mmrm <- mmrm::mmrm
tight_mmrm <- function(formula, data, reml = TRUE, n_cores = 1L, accept_singular = TRUE) {
  fit <- orig_mmrm(formula = formula, data = data, reml = reml,
                   control = mmrm::mmrm_control(n_cores = n_cores, accept_singular = accept_singular,
                                                optimizer_fun = list(nlminb_newton = nlminb_newton)))
  fit_log$grad <- c(fit_log$grad, max(abs(fit$tmb_object$gr(fit$theta_est))))
  fit
}

analyse_pairs <- function(data, vars, pairs) {
  out <- list()
  for (v in levels(data[[vars$visit]])) {
    d <- data[data[[vars$visit]] == v, ]
    f <- as.formula(paste(vars$outcome, "~", vars$group, "+", paste(vars$covariates, collapse = "+")))
    fit <- lm(f, data = d)
    b <- coef(fit); V <- vcov(fit); lv <- levels(d[[vars$group]])
    for (p in pairs) {
      l <- setNames(numeric(length(b)), names(b))
      if (p[1] != lv[1]) l[paste0(vars$group, p[1])] <- 1
      if (p[2] != lv[1]) l[paste0(vars$group, p[2])] <- l[paste0(vars$group, p[2])] - 1
      out[[paste0(p[1], "-", p[2], "_", v)]] <- list(est = sum(l * b), se = sqrt(drop(t(l) %*% V %*% l)),
                                                      df = df.residual(fit))
    }
  }
  out
}

first_missing <- function(dat, id, visit, y) {
  dat <- dat[order(dat[[id]], dat[[visit]]), ]
  levs <- levels(dat[[visit]])
  res <- do.call(rbind, lapply(split(dat, dat[[id]]), function(d) {
    obs <- which(!is.na(d[[y]]))
    last <- if (length(obs)) max(obs) else 0
    if (last < length(levs)) data.frame(id = d[[id]][1], visit = levs[last + 1]) else NULL
  }))
  names(res) <- c(id, visit)
  res[[visit]] <- factor(res[[visit]], levels = levs)
  res
}

# per-imputation estimates: {parameter: [est of analysis 1, 2, ...]}
per_imputation <- function(an) {
  res <- an$results
  pars <- names(res[[1]])
  setNames(lapply(pars, function(p) vapply(res, function(r) r[[p]]$est, numeric(1))), pars)
}

ad <- read.csv("src/combotherapy/datasets/rbmi_antidepressant/antidepressant_data.csv",
               colClasses = c(PATIENT = "character", VISIT = "character", POOLINV = "character"))
ad$THERAPY <- factor(ad$THERAPY, levels = c("PLACEBO", "DRUG"))
ad$VISIT <- factor(ad$VISIT, levels = c("4", "5", "6", "7"))
ad$PATIENT <- factor(ad$PATIENT)
ad <- expand_locf(ad, PATIENT = levels(ad$PATIENT), VISIT = levels(ad$VISIT), vars = c("BASVAL", "THERAPY"),
                  group = c("PATIENT"), order = c("PATIENT", "VISIT"))
ice <- first_missing(ad, "PATIENT", "VISIT", "CHANGE")
ice$strategy <- "MAR"
v_imp <- set_vars(outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY",
                  covariates = c("BASVAL*VISIT", "THERAPY*VISIT"))
v_an <- set_vars(outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY", covariates = "BASVAL")
pairs <- list(c("DRUG", "PLACEBO"))
refs <- c(PLACEBO = "PLACEBO", DRUG = "PLACEBO")

cases <- list(); reps <- list(); t_all <- list(); diag <- list()

# 1. conditional mean, bootstrap SEs (tight optimiser)
utils::assignInNamespace("mmrm", tight_mmrm, ns = "mmrm")
t0 <- Sys.time()
dr <- draws(data = ad, data_ice = ice, vars = v_imp, method = method_condmean(type = "bootstrap", n_samples = B_CM),
            quiet = TRUE)
diag$condmean_bootstrap <- list(fits = length(fit_log$grad), max_abs_gradient = max(fit_log$grad),
                                failures = dr$n_failures)
for (s in c("MAR", "JR")) {
  upd <- ice[, c("PATIENT", "strategy")]
  upd$strategy <- s
  im <- impute(dr, references = refs, update_strategy = upd)
  an <- analyse(im, fun = analyse_pairs, vars = v_an, pairs = pairs)
  cases[[paste0("antidepressant_condmean_bootstrap_normal_", s)]] <- as.data.frame(pool(an, type = "normal"))
  cases[[paste0("antidepressant_condmean_bootstrap_percentile_", s)]] <- as.data.frame(pool(an, type = "percentile"))
  reps[[paste0("antidepressant_condmean_bootstrap_", s)]] <- per_imputation(an)  # first: the full data
}
t_all$condmean_bootstrap <- as.numeric(Sys.time() - t0, units = "secs")

# 2. bootstrapped ML MI (rbmi and mmrm unmodified)
utils::assignInNamespace("mmrm", orig_mmrm, ns = "mmrm")
t0 <- Sys.time()
dr <- draws(data = ad, data_ice = ice, vars = v_imp, method = method_bmlmi(B = B_ML, D = D_ML), quiet = TRUE)
diag$bmlmi <- list(failures = dr$n_failures)
for (s in c("MAR", "JR")) {
  upd <- ice[, c("PATIENT", "strategy")]
  upd$strategy <- s
  im <- impute(dr, references = refs, update_strategy = upd)
  an <- analyse(im, fun = analyse_pairs, vars = v_an, pairs = pairs)
  cases[[paste0("antidepressant_bmlmi_", s)]] <- as.data.frame(pool(an))
  reps[[paste0("antidepressant_bmlmi_", s)]] <- per_imputation(an)  # bootstrap-major, D per sample
}
t_all$bmlmi <- as.numeric(Sys.time() - t0, units = "secs")

out <- list(
  cases = cases, per_imputation = reps, seconds = t_all, diagnostics = diag,
  condmean_bootstrap_samples = B_CM, bmlmi_B = B_ML, bmlmi_D = D_ML,
  R = R.version.string, rbmi = as.character(packageVersion("rbmi")), mmrm = as.character(packageVersion("mmrm")),
  TMB = as.character(packageVersion("TMB")),
  rbmi_commit = Sys.getenv("RBMI_COMMIT"), mmrm_commit = Sys.getenv("MMRM_COMMIT"),
  TMB_commit = Sys.getenv("TMB_COMMIT"),
  md5 = as.list(tools::md5sum("src/combotherapy/datasets/rbmi_antidepressant/antidepressant_data.csv")),
  seed = 20261206)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), OUT)
cat("written", OUT, "\n")
