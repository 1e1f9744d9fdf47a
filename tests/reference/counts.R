# Reference numbers for ct.count_model (src/combotherapy/models/counts.py).
#
# Run from the repository root:  Rscript tests/reference/counts.R
# Writes tests/reference/counts.json (full precision, jsonlite digits = NA).
#
# Datasets: the deterministic fixture tests/reference/data/counts_fixture.csv (three unbalanced arms, dropout,
# one missing baseline, a diary-days column for the exposure option) and, when present, the sample trial
# data/sample/three_arm.csv.
#
# Model: count at the visit ~ arm + baseline count (linear), complete cases (count at the visit and baseline
# both present); optionally + offset(log(exposure)).
#   - negative binomial (NB2): MASS::glm.nb, pushed to convergence (epsilon 1e-12); theta and its SE from
#     glm.nb (theta.ml's observed information); coefficients' covariance vcov(fit) (theta held fixed, as
#     summary.glm reports it).
#   - Poisson: glm(family = poisson).
#   - Rate ratios between arms: emmeans-free, by hand: exp(L b) with se sqrt(L V L'), Wald z.
#   - Dispersion checks on the Poisson fit: Pearson chi-square / residual df, and the Cameron-Trivedi (1990)
#     regression test for NB2 overdispersion, by hand (AER is not installed): OLS of ((y - mu)^2 - y) / mu on mu
#     without intercept; the slope's t ratio, referred to the standard normal, one-sided (alpha > 0).
#   - Likelihood-ratio test of NB vs Poisson: 2 (logLik NB - logLik Poisson), p = 0.5 P(chi2_1 > LR)
#     (the boundary of theta = infinity; Self & Liang 1987).
suppressPackageStartupMessages({library(MASS); library(jsonlite)})

arm_levels <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}

rate_ratios <- function(b, V, arms) {
  do.call(rbind, lapply(pairs_for(arms), function(p) {
    L <- setNames(numeric(length(b)), names(b))
    if (p[1] != arms[1]) L[paste0("arm", p[1])] <- 1
    if (p[2] != arms[1]) L[paste0("arm", p[2])] <- -1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
    data.frame(contrast = paste(p[1], "-", p[2]), log_estimate = est, se = se, estimate = exp(est),
               ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se),
               statistic = est / se, p = 2 * pnorm(-abs(est / se)))
  }))
}

analyse <- function(path, visit, exposure = NULL) {
  raw <- read.csv(path)
  base <- raw[raw$visit == 0, c("subject", "analgesic_days")]
  names(base)[2] <- "base"
  at <- raw[raw$visit == visit, ]
  d <- merge(at, base, by = "subject", sort = FALSE)
  keep <- !is.na(d$analgesic_days) & !is.na(d$base)
  if (!is.null(exposure)) keep <- keep & !is.na(d[[exposure]])
  d <- d[keep, ]
  arms <- arm_levels[arm_levels %in% d$arm]
  d$arm <- factor(d$arm, levels = arms)
  d$y <- d$analgesic_days
  d$off <- if (is.null(exposure)) 0 else log(d[[exposure]])
  ctl <- glm.control(epsilon = 1e-12, maxit = 200)
  nb <- glm.nb(y ~ arm + base + offset(off), data = d, control = ctl)
  po <- glm(y ~ arm + base + offset(off), family = poisson, data = d, control = ctl)
  mu <- fitted(po)
  aux <- ((d$y - mu)^2 - d$y) / mu
  ct_fit <- summary(lm(aux ~ 0 + mu))$coefficients
  ct_stat <- ct_fit[1, "t value"]
  lr <- 2 * (as.numeric(logLik(nb)) - as.numeric(logLik(po)))
  list(
    file = basename(path), md5 = unname(tools::md5sum(path)), visit = visit, exposure = if (is.null(exposure)) NA else exposure,
    arms = arms, n = nrow(d), n_per_arm = as.list(table(d$arm)),
    negbin = list(coef_names = names(coef(nb)), coef = unname(coef(nb)), vcov = unname(vcov(nb)),
                  se = unname(sqrt(diag(vcov(nb)))), theta = nb$theta, theta_se = nb$SE.theta,
                  loglik = as.numeric(logLik(nb)), rate_ratios = rate_ratios(coef(nb), vcov(nb), arms)),
    poisson = list(coef_names = names(coef(po)), coef = unname(coef(po)), vcov = unname(vcov(po)),
                   se = unname(sqrt(diag(vcov(po)))), loglik = as.numeric(logLik(po)),
                   rate_ratios = rate_ratios(coef(po), vcov(po), arms),
                   pearson_chi2 = sum(residuals(po, type = "pearson")^2), df_resid = po$df.residual,
                   ct_alpha = ct_fit[1, "Estimate"], ct_statistic = ct_stat,
                   ct_p = pnorm(ct_stat, lower.tail = FALSE)),
    lr_statistic = lr, lr_p = 0.5 * pchisq(lr, 1, lower.tail = FALSE)
  )
}

res <- list(
  generated_by = "tests/reference/counts.R",
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")), jsonlite = as.character(packageVersion("jsonlite"))),
  fixture = analyse("tests/reference/data/counts_fixture.csv", 12),
  fixture_week4 = analyse("tests/reference/data/counts_fixture.csv", 4),
  fixture_exposure = analyse("tests/reference/data/counts_fixture.csv", 12, exposure = "days_observed")
)
if (file.exists("data/sample/three_arm.csv")) res$sample <- analyse("data/sample/three_arm.csv", 12)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/counts.json")
