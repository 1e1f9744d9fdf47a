# Reference numbers for combotherapy.missing from R's rbmi (built from public source; see the json for commits).
#   TMB_COMMIT=<sha> RBMI_COMMIT=<sha> MMRM_COMMIT=<sha> R_LIBS=<library with TMB, mmrm and rbmi built from source> \
#     Rscript tests/reference/rbmi_reference.R  (repo root)
# Built from kaskr/adcomp af56b57 (TMB 1.9.23), openpharma/mmrm ec290b2 and openpharma/rbmi 5961fa0; about 32 min
# on 2 busy cores (the conditional-mean cases alone, RBMI_PARTS=condmean: about 14 min).
# Data: rbmi's antidepressant_data (src/combotherapy/datasets/rbmi_antidepressant/) and the package's sample trial
# (tests/reference/rbmi_sample_trial.csv, written by rbmi_make_data.py).
# Imputation model: outcome ~ baseline*visit + arm*visit, unstructured covariance, REML (rbmi defaults).
# Analysis: lm(outcome ~ arm + baseline) at each visit, every pair of arms (a custom analysis function: rbmi's
# ancova() takes two arms only); for antidepressant_data the outcome is CHANGE (the package analyses HAMDTL17 with
# BASVAL as the week-0 value: the same treatment effects).
# Intercurrent events: the first missing visit after each subject's last observed one (rbmi's vignette; an
# intermittent gap is not an event and stays MAR).
#
# Optimiser (the one change to rbmi's pipeline). rbmi fits every MMRM (the full data and each jackknife sample)
# through its internal fit_mmrm(), which calls mmrm::mmrm(formula, data, reml, n_cores = 1, accept_singular = FALSE)
# with mmrm's default optimisers (L-BFGS-B first, with optim's default factr = 1e7): rbmi has no argument or option
# that reaches mmrm's control. At that default the estimates of the conditional-mean jackknife stop about 6e-5 from
# the REML optimum. So that the reference is rbmi's algorithm at the optimum, this script replaces, for this R
# session only, the function mmrm::mmrm in mmrm's namespace by a wrapper that calls the original mmrm::mmrm with the
# same arguments plus control = mmrm_control(n_cores, accept_singular, optimizer_fun = nlminb_newton):
# mmrm's nlminb with the exact TMB Hessian, then Newton steps to a gradient below 1e-10. The wrapper also
# records the largest absolute REML gradient at each fit's estimate (reported in the json as max_abs_gradient). All
# else (data handling, design matrices, jackknife, conditional means, reference-based means, pooling) is rbmi's code
# unchanged. The approximate Bayesian cases (compared within Monte Carlo error) run rbmi and mmrm unmodified.
# Conditional mean: one draws() per data set (strategy MAR), then impute(update_strategy = ...) for each strategy
# (rbmi's documented way; valid because no subject has observed data after the event, so the fits are the same).
suppressPackageStartupMessages({library(rbmi); library(jsonlite)})
set.seed(20241206)

# RBMI_PARTS=condmean runs the conditional-mean cases only (for a quick check; RBMI_OUT names another json)
PARTS <- strsplit(Sys.getenv("RBMI_PARTS", "condmean,approxbayes"), ",")[[1]]
OUT <- Sys.getenv("RBMI_OUT", "tests/reference/rbmi_reference.json")
# nlminb (mmrm's own call: PORT with the exact TMB Hessian, default tolerances), then plain Newton steps with the
# same Hessian until the largest absolute gradient of the REML criterion is below GRAD_TOL (nlminb alone with
# rel.tol 1e-14 stops with "singular convergence (7)" on some jackknife samples). A Newton step that does not
# lower the criterion ends the polishing and the nlminb answer stands (its gradient is still recorded).
GRAD_TOL <- 1e-10
nlminb_newton <- function(par, fn, gr, hessian, control = list()) {
  opt <- stats::nlminb(par, fn, gr, hessian, control = control)
  if (opt$convergence != 0) return(opt)
  p <- opt$par
  f <- fn(p)
  steps <- 0L
  for (i in seq_len(20)) {  # Newton steps: two or three from nlminb's answer
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
fit_log$loglik <- numeric(0)
orig_mmrm <- mmrm::mmrm
tight_mmrm <- function(formula, data, reml = TRUE, n_cores = 1L, accept_singular = TRUE) {
  fit <- orig_mmrm(formula = formula, data = data, reml = reml,
                   control = mmrm::mmrm_control(n_cores = n_cores, accept_singular = accept_singular,
                                                optimizer_fun = list(nlminb_newton = nlminb_newton)))
  fit_log$grad <- c(fit_log$grad, max(abs(fit$tmb_object$gr(fit$theta_est))))
  fit_log$loglik <- c(fit_log$loglik, as.numeric(logLik(fit)))
  fit
}
utils::assignInNamespace("mmrm", tight_mmrm, ns = "mmrm")
stopifnot(identical(mmrm::mmrm, tight_mmrm))

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

# approximate Bayes (Monte Carlo; compared within Monte Carlo error): rbmi exactly as shipped, mmrm's default optimiser
run_case <- function(dat, vars_imp, vars_an, ice, refs, strategy, method, pairs) {
  utils::assignInNamespace("mmrm", orig_mmrm, ns = "mmrm")
  on.exit(utils::assignInNamespace("mmrm", tight_mmrm, ns = "mmrm"))
  ice$strategy <- strategy
  dr <- draws(data = dat, data_ice = ice, vars = vars_imp, method = method, quiet = TRUE)
  im <- impute(dr, references = refs)
  an <- analyse(im, fun = analyse_pairs, vars = vars_an, pairs = pairs)
  po <- pool(an)
  as.data.frame(po)
}

# conditional mean with jackknife: fits once (strategy MAR), imputes and pools under each strategy
run_condmean <- function(name, dat, vars_imp, vars_an, ice, refs, pairs) {
  t0 <- Sys.time()
  n0 <- length(fit_log$grad)
  ice$strategy <- "MAR"
  dr <- draws(data = dat, data_ice = ice, vars = vars_imp, method = method_condmean(type = "jackknife"),
              quiet = TRUE)
  fits <- seq(n0 + 1, length(fit_log$grad))
  diag <- list(fits = length(fits), max_abs_gradient = max(fit_log$grad[fits]),
               full_data_reml_loglik = fit_log$loglik[n0 + 1], failures = dr$n_failures)
  res <- list()
  for (s in c("MAR", "JR", "CR", "CIR")) {
    upd <- ice[, c(vars_imp$subjid, "strategy")]
    upd$strategy <- s
    im <- impute(dr, references = refs, update_strategy = upd)
    an <- analyse(im, fun = analyse_pairs, vars = vars_an, pairs = pairs)
    res[[paste0(name, "_condmean_jackknife_", s)]] <- as.data.frame(pool(an))
  }
  diag$seconds <- as.numeric(Sys.time() - t0, units = "secs")
  list(cases = res, diag = diag)
}

cases <- list()
t_all <- list()

# --- antidepressant_data -------------------------------------------------------------------------------------
ad <- read.csv("src/combotherapy/datasets/rbmi_antidepressant/antidepressant_data.csv",
               colClasses = c(PATIENT = "character", VISIT = "character", POOLINV = "character"))
ad$THERAPY <- factor(ad$THERAPY, levels = c("PLACEBO", "DRUG"))
ad$VISIT <- factor(ad$VISIT, levels = c("4", "5", "6", "7"))
ad$PATIENT <- factor(ad$PATIENT)
ad <- expand_locf(ad, PATIENT = levels(ad$PATIENT), VISIT = levels(ad$VISIT), vars = c("BASVAL", "THERAPY"),
                  group = c("PATIENT"), order = c("PATIENT", "VISIT"))
ice_ad <- first_missing(ad, "PATIENT", "VISIT", "CHANGE")
v_imp <- set_vars(outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY",
                  covariates = c("BASVAL*VISIT", "THERAPY*VISIT"))
v_an <- set_vars(outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY", covariates = "BASVAL")
pairs_ad <- list(c("DRUG", "PLACEBO"))
refs_ad <- c(PLACEBO = "PLACEBO", DRUG = "PLACEBO")
cm <- run_condmean("antidepressant", ad, v_imp, v_an, ice_ad, refs_ad, pairs_ad)
cases <- c(cases, cm$cases)
diagnostics <- list(antidepressant_condmean_jackknife = cm$diag)
t_all[["antidepressant_condmean_jackknife"]] <- cm$diag$seconds
for (s in if ("approxbayes" %in% PARTS) c("MAR", "JR") else character(0)) {
  t0 <- Sys.time()
  cases[[paste0("antidepressant_approxbayes_", s)]] <-
    run_case(ad, v_imp, v_an, ice_ad, refs_ad, s, method_approxbayes(n_samples = 500), pairs_ad)
  t_all[[paste0("antidepressant_approxbayes_", s)]] <- as.numeric(Sys.time() - t0, units = "secs")
}

# --- the package's sample trial (three arms, no control) ------------------------------------------------------
st <- read.csv("tests/reference/rbmi_sample_trial.csv", colClasses = c(subject = "character"))
st$arm <- factor(st$arm, levels = c("physio", "acupuncture", "combined"))
st$visit <- factor(st$visit, levels = c("4", "8", "12", "26"))
st$subject <- factor(st$subject)
ice_st <- first_missing(st, "subject", "visit", "pain")
v_imp2 <- set_vars(outcome = "pain", visit = "visit", subjid = "subject", group = "arm",
                   covariates = c("pain_baseline*visit", "arm*visit"))
v_an2 <- set_vars(outcome = "pain", visit = "visit", subjid = "subject", group = "arm", covariates = "pain_baseline")
pairs_st <- list(c("combined", "physio"), c("combined", "acupuncture"), c("physio", "acupuncture"))
refs_st <- c(physio = "acupuncture", acupuncture = "physio", combined = "physio")
cm <- run_condmean("sample", st, v_imp2, v_an2, ice_st, refs_st, pairs_st)
cases <- c(cases, cm$cases)
diagnostics[["sample_condmean_jackknife"]] <- cm$diag
t_all[["sample_condmean_jackknife"]] <- cm$diag$seconds
if ("approxbayes" %in% PARTS) {
t0 <- Sys.time()
cases[["sample_approxbayes_MAR"]] <- run_case(st, v_imp2, v_an2, ice_st, refs_st, "MAR",
                                              method_approxbayes(n_samples = 500), pairs_st)
t_all[["sample_approxbayes_MAR"]] <- as.numeric(Sys.time() - t0, units = "secs")
}

out <- list(
  cases = cases, seconds = t_all, diagnostics = diagnostics,
  optimizer = list(optimizer = "nlminb then Newton steps (exact TMB Hessian), through a wrapper of mmrm::mmrm",
                   applies_to = "the conditional-mean cases (approximate Bayes: mmrm default optimisers)",
                   gradient_tolerance = GRAD_TOL, max_abs_gradient_all_fits = max(fit_log$grad), fits = length(fit_log$grad)),
  ice_antidepressant = list(subject = as.character(ice_ad$PATIENT), visit = as.character(ice_ad$VISIT)),
  R = R.version.string, rbmi = as.character(packageVersion("rbmi")), mmrm = as.character(packageVersion("mmrm")),
  TMB = as.character(packageVersion("TMB")),
  rbmi_commit = Sys.getenv("RBMI_COMMIT"), mmrm_commit = Sys.getenv("MMRM_COMMIT"),
  TMB_commit = Sys.getenv("TMB_COMMIT"),
  md5 = as.list(tools::md5sum(c("src/combotherapy/datasets/rbmi_antidepressant/antidepressant_data.csv",
                                "tests/reference/rbmi_sample_trial.csv"))),
  approxbayes_samples = 500, seed = 20241206)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), OUT)
cat("written", OUT, "\n")
