# Reference numbers for ct.survival with covariates and strata (src/combotherapy/models/survival.py).
#
# Run from the repository root:  Rscript tests/reference/survival_adjusted.R
# Writes tests/reference/survival_adjusted.json (full precision, jsonlite digits = NA).
#
# One row per subject: time = recovery_time, event = recovered; subjects missing a covariate or the stratum
# are excluded (complete cases). Covariates: numeric linearly, text columns as factors (levels present among
# the analysed subjects, treatment coding).
#   - Cox: coxph(Surv(time, event) ~ arm + covariates [+ strata(s)], ties = "efron" / "breslow"), pushed to
#     convergence (eps 1e-12); hazard ratios between arms by hand: exp(L b), se sqrt(L V L'), Wald z.
#   - log-rank: survdiff(Surv(time, event) ~ arm [+ strata(s)]) (stratified when strata are given).
#   - PH check without strata: cox.zph(fit, transform = "km", terms = FALSE) (score test per coefficient + GLOBAL).
# Datasets: tests/reference/data/safety_unbalanced.csv (four unbalanced arms, two subjects without
# pain_duration, a site of two subjects) and data/sample/factorial.csv (four arms of 100).
suppressPackageStartupMessages({library(survival); library(jsonlite)})

arm_levels <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}

analyse <- function(path, covariates, strata = NULL) {
  raw <- read.csv(path)
  sub <- raw[!duplicated(raw$subject), ]
  keep <- !(is.na(sub$recovery_time) & is.na(sub$recovered))
  for (c in c(covariates, strata)) keep <- keep & !is.na(sub[[c]])
  sub <- sub[keep, ]
  arms <- arm_levels[arm_levels %in% sub$arm]
  sub$arm <- factor(sub$arm, levels = arms)
  for (c in covariates) if (is.character(sub[[c]])) sub[[c]] <- factor(sub[[c]])
  sub$time <- sub$recovery_time
  sub$event <- sub$recovered
  rhs <- paste(c("arm", covariates, if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  out <- list(file = basename(path), md5 = unname(tools::md5sum(path)), covariates = I(covariates),
              strata = if (is.null(strata)) NA else strata, arms = arms, n_used = nrow(sub),
              n_per_arm = as.list(table(sub$arm)), formula = paste("Surv(time, event) ~", rhs))
  lr_rhs <- paste(c("arm", if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  sd <- survdiff(as.formula(paste("Surv(time, event) ~", lr_rhs)), data = sub)
  df <- length(sd$n) - 1
  if (!is.null(strata)) df <- nrow(sd$obs) - 1
  out$logrank <- list(statistic = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE))
  prs <- pairs_for(arms)
  for (ties in c("efron", "breslow")) {
    cf <- coxph(as.formula(paste("Surv(time, event) ~", rhs)), data = sub, ties = ties,
                control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-14))
    b <- coef(cf); V <- vcov(cf)
    hr <- do.call(rbind, lapply(prs, function(p) {
      L <- setNames(numeric(length(b)), names(b))
      if (p[1] != arms[1]) L[paste0("arm", p[1])] <- 1
      if (p[2] != arms[1]) L[paste0("arm", p[2])] <- -1
      est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
      data.frame(contrast = paste(p[1], "-", p[2]), log_estimate = est, se = se, estimate = exp(est),
                 ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se),
                 statistic = est / se, p = 2 * pnorm(-abs(est / se)))
    }))
    res <- list(coef = unname(b), coef_names = names(b), se = unname(sqrt(diag(V))), loglik = cf$loglik,
                hazard_ratios = hr)
    if (is.null(strata)) {
      zph <- cox.zph(cf, transform = "km", terms = FALSE)
      res$zph <- data.frame(term = rownames(zph$table), chisq = unname(zph$table[, "chisq"]),
                            df = unname(zph$table[, "df"]), p = unname(zph$table[, "p"]))
    }
    out[[paste0("cox_", ties)]] <- res
  }
  out
}

res <- list(
  generated_by = "tests/reference/survival_adjusted.R",
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  unbalanced_strata = analyse("tests/reference/data/safety_unbalanced.csv", c("age", "sex", "pain_duration"), "site"),
  unbalanced_covariates = analyse("tests/reference/data/safety_unbalanced.csv", c("age", "sex", "pain_duration", "site")),
  factorial_strata = analyse("data/sample/factorial.csv", c("age", "sex"), "site"),
  factorial_covariates = analyse("data/sample/factorial.csv", c("age", "sex", "site"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/survival_adjusted.json")
