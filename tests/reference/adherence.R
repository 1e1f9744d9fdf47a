# Reference numbers for ct.adherence (src/combotherapy/models/adherence.py).
#
# Run from the repository root:  Rscript tests/reference/adherence.R
# Writes tests/reference/adherence.json (full precision, jsonlite digits = NA).
#
# Model: glm(cbind(attended, planned - attended) ~ arm [+ baseline pain], family = binomial) and the same with
# family = quasibinomial (dispersion = Pearson chi-square / residual df, t tests on the residual df).
# Per-arm adherence: expit of the arm's linear predictor (for the baseline model: at the mean baseline) with the
# interval back-transformed from the logit scale and the delta-method SE, i.e. emmeans(fit, ~ arm, type =
# "response"); odds ratios exp(contrast of coefficients) with Wald intervals; p_adj = p.adjust(p, "holm") with
# Bonferroni intervals. Written out from coef()/vcov() and cross-checked against emmeans (estimates, SEs, Holm
# p-values) for the binomial fit. For the quasi-binomial fit tests and intervals use t on the residual df, as
# summary.glm does (emmeans 1.8.4 uses z there); estimates and SEs equal emmeans'.
# Subjects with no / zero sessions planned or no attended count are excluded (the package does the same and
# lists them); arms left without subjects (usual care) are dropped.
# Data: data/sample/three_arm.csv, data/sample/factorial.csv and tests/reference/data/safety_unbalanced.csv.
suppressPackageStartupMessages({library(jsonlite); library(emmeans)})
emm_options(opt.digits = FALSE)

ranked <- c("combined", "physio", "acupuncture", "control")   # the package's contrast order
display <- c("control", "physio", "acupuncture", "combined")  # the package's arm order (first = reference level)

pairs_for <- function(arms, reference = NULL) {
  r <- ranked[ranked %in% arms]
  if (!is.null(reference)) return(lapply(setdiff(r, reference), function(a) c(a, reference)))
  out <- list()
  for (i in seq_along(r)) for (j in seq_along(r)) if (i < j) out[[length(out) + 1]] <- c(r[i], r[j])
  out
}

subjects <- function(path) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  s <- d[!duplicated(d$subject), ]
  base <- d[d$visit == 0, c("subject", "pain")]
  s$baseline <- base$pain[match(s$subject, base$subject)]
  keep <- !is.na(s$sessions_planned) & s$sessions_planned > 0 & !is.na(s$sessions_attended)
  list(all = s, analysed = s[keep, ], excluded = sum(!keep))
}

fit_case <- function(s, baseline, family, reference = NULL) {
  arms <- display[display %in% unique(s$arm)]
  s$arm <- factor(s$arm, levels = arms)
  f <- if (baseline) cbind(sessions_attended, sessions_planned - sessions_attended) ~ arm + baseline
       else cbind(sessions_attended, sessions_planned - sessions_attended) ~ arm
  fit <- glm(f, family = family, data = s, control = glm.control(epsilon = 1e-14, maxit = 100))
  quasi <- family$family == "quasibinomial"
  # z tests for the binomial; t tests on the residual df for the quasi-binomial, as summary.glm does
  # (emmeans 1.8.4 uses z for both: checked below for estimates and SEs, not df)
  df <- if (quasi) fit$df.residual else Inf
  crit <- function(a) if (quasi) qt(1 - a / 2, df) else qnorm(1 - a / 2)
  pval <- function(t) if (quasi) 2 * pt(-abs(t), df) else 2 * pnorm(-abs(t))
  b <- coef(fit); V <- vcov(fit)
  k <- length(arms)
  L <- cbind(1, rbind(0, diag(k - 1)))
  if (baseline) L <- cbind(L, mean(s$baseline))
  eta <- drop(L %*% b); se_eta <- sqrt(diag(L %*% V %*% t(L)))
  p <- plogis(eta)
  by_arm <- data.frame(arm = arms, n = as.integer(table(s$arm)[arms]), estimate = p, se = p * (1 - p) * se_eta,
                       df = df, ci_low = plogis(eta - crit(0.05) * se_eta), ci_high = plogis(eta + crit(0.05) * se_eta),
                       logit_estimate = eta, logit_se = se_eta)
  emm <- as.data.frame(summary(emmeans(fit, ~ arm)))
  stopifnot(max(abs(emm$emmean - eta)) < 1e-10, max(abs(emm$SE - se_eta)) < 1e-10)
  prs <- pairs_for(arms, reference)
  C <- t(sapply(prs, function(pr) as.numeric(arms == pr[1]) - as.numeric(arms == pr[2]))) %*% L
  est <- drop(C %*% b); se <- sqrt(diag(C %*% V %*% t(C))); stat <- est / se
  m <- length(prs)
  contrasts <- data.frame(contrast = sapply(prs, function(pr) paste(pr[1], "-", pr[2])), estimate = exp(est),
                          ci_low = exp(est - crit(0.05) * se), ci_high = exp(est + crit(0.05) * se),
                          log_estimate = est, se = se, df = df, statistic = stat, p = pval(stat),
                          p_adj = p.adjust(pval(stat), "holm"),
                          ci_low_holm = exp(est - crit(0.05 / m) * se), ci_high_holm = exp(est + crit(0.05 / m) * se))
  if (!quasi) {  # cross-check the hand contrasts against emmeans (z tests)
    emm_obj <- emmeans(fit, ~ arm)
    meth <- setNames(lapply(prs, function(pr) as.numeric(arms == pr[1]) - as.numeric(arms == pr[2])),
                     contrasts$contrast)
    ch <- summary(contrast(emm_obj, method = meth, adjust = "holm"), infer = TRUE)
    stopifnot(max(abs(ch$estimate - est)) < 1e-10, max(abs(ch$SE - se)) < 1e-10,
              max(abs(ch$p.value - contrasts$p_adj)) < 1e-10,
              max(abs(exp(ch$asymp.LCL) - contrasts$ci_low_holm)) < 1e-8)
  }
  st <- summary(fit)$coefficients
  phi <- sum(residuals(fit, type = "pearson")^2) / fit$df.residual
  if (quasi) stopifnot(abs(summary(fit)$dispersion / phi - 1) < 1e-8)
  list(by_arm = by_arm, contrasts = contrasts,
       coefficients = data.frame(term = rownames(st), estimate = st[, 1], se = st[, 2], statistic = st[, 3],
                                 p = st[, 4]),
       phi = phi, deviance = deviance(fit), pearson_chi2 = sum(residuals(fit, type = "pearson")^2),
       df_resid = fit$df.residual, mean_baseline = if (baseline) mean(s$baseline) else NA)
}

analyse <- function(path) {
  s <- subjects(path)
  out <- list(file = path, md5 = unname(tools::md5sum(path)), excluded = s$excluded)
  for (b in c(FALSE, TRUE)) for (fam in c("binomial", "quasibinomial")) {
    key <- paste0(fam, if (b) "_baseline" else "")
    out[[key]] <- fit_case(s$analysed, b, get(fam)())
  }
  out$binomial_ref_physio <- fit_case(s$analysed, FALSE, binomial(), reference = "physio")
  out
}

out <- list(
  R = R.version.string,
  packages = list(emmeans = as.character(packageVersion("emmeans")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  datasets = list(
    three_arm = analyse("data/sample/three_arm.csv"),
    factorial = analyse("data/sample/factorial.csv"),
    unbalanced = analyse("tests/reference/data/safety_unbalanced.csv")
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE), "tests/reference/adherence.json")
cat("wrote tests/reference/adherence.json\n")
