# Reference numbers for ct.adherence with covariates (src/combotherapy/models/adherence.py).
#
# Run from the repository root:  Rscript tests/reference/adherence_adjusted.R
# Writes tests/reference/adherence_adjusted.json (full precision, jsonlite digits = NA).
#
# Model: glm(cbind(attended, planned - attended) ~ arm [+ baseline pain] + covariates, binomial or quasibinomial),
# subjects with no / zero sessions planned, no attended count or a missing covariate excluded; arms left without
# subjects (usual care) dropped. Covariates: numeric linearly, text columns as factors (levels present among the
# analysed subjects). Per-arm adherence from emmeans(fit, ~ arm) (its default reference grid: numeric covariates
# at their mean, two-valued numeric ones averaged over the two values, factor levels equally weighted): logit
# estimate and SE; the interval back-transformed (z for binomial, t on the residual df for quasibinomial, as
# summary.glm). Odds ratios by hand from coef()/vcov(), unadjusted p.
# Data: tests/reference/data/safety_unbalanced.csv and data/sample/factorial.csv.
suppressPackageStartupMessages({library(jsonlite); library(emmeans)})
emm_options(opt.digits = FALSE)

ranked <- c("combined", "physio", "acupuncture", "control")
display <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {
  r <- ranked[ranked %in% arms]
  out <- list()
  for (i in seq_along(r)) for (j in seq_along(r)) if (i < j) out[[length(out) + 1]] <- c(r[i], r[j])
  out
}

fit_case <- function(path, covariates, baseline, family) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  s <- d[!duplicated(d$subject), ]
  base <- d[d$visit == 0, c("subject", "pain")]
  s$baseline <- base$pain[match(s$subject, base$subject)]
  keep <- !is.na(s$sessions_planned) & s$sessions_planned > 0 & !is.na(s$sessions_attended)
  if (baseline) keep <- keep & !is.na(s$baseline)
  for (c in covariates) keep <- keep & !is.na(s[[c]])
  excluded <- sum(!keep)
  s <- s[keep, ]
  arms <- display[display %in% unique(s$arm)]
  s$arm <- factor(s$arm, levels = arms)
  for (c in covariates) if (is.character(s[[c]])) s[[c]] <- factor(s[[c]])
  rhs <- paste(c("arm", if (baseline) "baseline", covariates), collapse = " + ")
  f <- as.formula(paste("cbind(sessions_attended, sessions_planned - sessions_attended) ~", rhs))
  fit <- glm(f, family = family, data = s, control = glm.control(epsilon = 1e-14, maxit = 100))
  quasi <- family$family == "quasibinomial"
  df <- if (quasi) fit$df.residual else Inf
  crit <- if (quasi) qt(0.975, df) else qnorm(0.975)
  pval <- function(t) if (quasi) 2 * pt(-abs(t), df) else 2 * pnorm(-abs(t))
  emm <- as.data.frame(summary(emmeans(fit, ~ arm)))
  eta <- emm$emmean; se_eta <- emm$SE; p <- plogis(eta)
  by_arm <- data.frame(arm = arms, n = as.integer(table(s$arm)[arms]), estimate = p, se = p * (1 - p) * se_eta,
                       ci_low = plogis(eta - crit * se_eta), ci_high = plogis(eta + crit * se_eta),
                       logit_estimate = eta, logit_se = se_eta)
  b <- coef(fit); V <- vcov(fit)
  contrasts <- do.call(rbind, lapply(pairs_for(arms), function(pr) {
    L <- setNames(numeric(length(b)), names(b))
    if (pr[1] != arms[1]) L[paste0("arm", pr[1])] <- 1
    if (pr[2] != arms[1]) L[paste0("arm", pr[2])] <- -1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
    data.frame(contrast = paste(pr[1], "-", pr[2]), estimate = exp(est), log_estimate = est, se = se,
               ci_low = exp(est - crit * se), ci_high = exp(est + crit * se), p = pval(est / se))
  }))
  list(file = basename(path), md5 = unname(tools::md5sum(path)), covariates = I(covariates), baseline = baseline,
       family = family$family, excluded = excluded, by_arm = by_arm, contrasts = contrasts,
       coef_names = names(b), coef = unname(b), se = unname(sqrt(diag(V))),
       phi = sum(residuals(fit, type = "pearson")^2) / fit$df.residual)
}

out <- list(
  generated_by = "tests/reference/adherence_adjusted.R",
  r_version = R.version.string,
  packages = list(emmeans = as.character(packageVersion("emmeans")), jsonlite = as.character(packageVersion("jsonlite"))),
  cases = list(
    unbalanced_binomial = fit_case("tests/reference/data/safety_unbalanced.csv", c("age", "sex", "pain_duration"),
                                   TRUE, binomial()),
    unbalanced_quasi = fit_case("tests/reference/data/safety_unbalanced.csv", c("age", "sex", "pain_duration"),
                                TRUE, quasibinomial()),
    factorial_binomial = fit_case("data/sample/factorial.csv", c("age", "sex", "site"), FALSE, binomial()),
    factorial_quasi = fit_case("data/sample/factorial.csv", c("age", "sex", "site"), TRUE, quasibinomial())
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE, matrix = "rowmajor"),
           "tests/reference/adherence_adjusted.json")
