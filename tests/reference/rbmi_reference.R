# Reference numbers for combotherapy.missing from R's rbmi (built from public source; see the json for commits).
#   RBMI_COMMIT=<sha> MMRM_COMMIT=<sha> R_LIBS=<library with mmrm and rbmi built from source> Rscript tests/reference/rbmi_reference.R  (repo root)
# Built from openpharma/rbmi 5961fa0 and openpharma/mmrm ec290b2 against Debian TMB 1.9.2; about 35 min on 2 busy cores.
# Data: rbmi's antidepressant_data (src/combotherapy/datasets/rbmi_antidepressant/) and the package's sample trial
# (tests/reference/rbmi_sample_trial.csv, written by rbmi_make_data.py).
# Imputation model: outcome ~ baseline*visit + arm*visit, unstructured covariance, REML (rbmi defaults).
# Analysis: lm(outcome ~ arm + baseline) at each visit, every pair of arms (a custom analysis function: rbmi's
# ancova() takes two arms only); for antidepressant_data the outcome is CHANGE (the package analyses HAMDTL17 with
# BASVAL as the week-0 value: the same treatment effects).
# Intercurrent events: the first missing visit after each subject's last observed one (rbmi's vignette; an
# intermittent gap is not an event and stays MAR).
suppressPackageStartupMessages({library(rbmi); library(jsonlite)})
set.seed(20241206)

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

run_case <- function(dat, vars_imp, vars_an, ice, refs, strategy, method, pairs) {
  ice$strategy <- strategy
  dr <- draws(data = dat, data_ice = ice, vars = vars_imp, method = method, quiet = TRUE)
  im <- impute(dr, references = refs)
  an <- analyse(im, fun = analyse_pairs, vars = vars_an, pairs = pairs)
  po <- pool(an)
  as.data.frame(po)
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
for (s in c("MAR", "JR", "CR", "CIR")) {
  t0 <- Sys.time()
  cases[[paste0("antidepressant_condmean_jackknife_", s)]] <-
    run_case(ad, v_imp, v_an, ice_ad, refs_ad, s, method_condmean(type = "jackknife"), pairs_ad)
  t_all[[paste0("antidepressant_condmean_jackknife_", s)]] <- as.numeric(Sys.time() - t0, units = "secs")
}
for (s in c("MAR", "JR")) {
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
for (s in c("MAR", "JR", "CR", "CIR")) {
  t0 <- Sys.time()
  cases[[paste0("sample_condmean_jackknife_", s)]] <-
    run_case(st, v_imp2, v_an2, ice_st, refs_st, s, method_condmean(type = "jackknife"), pairs_st)
  t_all[[paste0("sample_condmean_jackknife_", s)]] <- as.numeric(Sys.time() - t0, units = "secs")
}
t0 <- Sys.time()
cases[["sample_approxbayes_MAR"]] <- run_case(st, v_imp2, v_an2, ice_st, refs_st, "MAR",
                                              method_approxbayes(n_samples = 500), pairs_st)
t_all[["sample_approxbayes_MAR"]] <- as.numeric(Sys.time() - t0, units = "secs")

out <- list(
  cases = cases, seconds = t_all,
  ice_antidepressant = list(subject = as.character(ice_ad$PATIENT), visit = as.character(ice_ad$VISIT)),
  R = R.version.string, rbmi = as.character(packageVersion("rbmi")), mmrm = as.character(packageVersion("mmrm")),
  TMB = as.character(packageVersion("TMB")),
  rbmi_commit = Sys.getenv("RBMI_COMMIT"), mmrm_commit = Sys.getenv("MMRM_COMMIT"),
  md5 = as.list(tools::md5sum(c("src/combotherapy/datasets/rbmi_antidepressant/antidepressant_data.csv",
                                "tests/reference/rbmi_sample_trial.csv"))),
  approxbayes_samples = 500, seed = 20241206)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/rbmi_reference.json")
cat("written tests/reference/rbmi_reference.json\n")
