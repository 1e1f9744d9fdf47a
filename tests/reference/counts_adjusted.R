# Reference numbers for ct.count_model with covariates and an exposure offset (src/combotherapy/models/counts.py).
#
# Run from the repository root:  Rscript tests/reference/counts_adjusted.R
# Writes tests/reference/counts_adjusted.json (full precision, jsonlite digits = NA).
#
# Model: count at the visit ~ arm + baseline count + covariates [+ offset(log(exposure))], complete cases (count
# at the visit, baseline, exposure and every covariate present). Covariates: numeric columns linearly, text
# columns as factors with the levels present among the analysed subjects (R's factor(), treatment coding).
#   - negative binomial: MASS::glm.nb pushed to convergence (epsilon 1e-12); vcov(fit) (theta held fixed).
#   - Poisson: glm(family = poisson).
#   - rate ratios between arms by hand: exp(L b), se sqrt(L V L'), Wald z.
#   - per-arm rates: emmeans(fit, ~ arm, offset = 0) (per unit of exposure), emmeans' default reference grid
#     (numeric covariates at their mean, two-valued numeric covariates averaged over the two values, factor
#     levels equally weighted), type = "response" for the rate and its CI; the log-scale estimate and SE.
# The "interaction" case has the formula terms age*sex + site (the package's covariates=["age*sex", "C(site)"]).
# Datasets: tests/reference/data/safety_unbalanced.csv (four unbalanced arms, dropout, two subjects without
# pain_duration, a site with two subjects), tests/reference/data/counts_fixture.csv (exposure column
# days_observed) and data/sample/factorial.csv (four arms of 100).
suppressPackageStartupMessages({library(MASS); library(emmeans); library(jsonlite)})
emm_options(msg.interaction = FALSE)

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

rates <- function(fit, d) {
  e <- summary(emmeans(fit, ~ arm, offset = 0, data = d))
  r <- summary(emmeans(fit, ~ arm, offset = 0, data = d), type = "response")
  data.frame(arm = as.character(e$arm), log_estimate = e$emmean, se = e$SE,
             estimate = r[[if ("response" %in% names(r)) "response" else "rate"]],
             ci_low = r$asymp.LCL, ci_high = r$asymp.UCL)
}

analyse <- function(path, visit, covariates, exposure = NULL, vars = covariates) {
  raw <- read.csv(path)
  base <- raw[raw$visit == 0, c("subject", "analgesic_days")]
  names(base)[2] <- "base"
  at <- raw[raw$visit == visit, ]
  d <- merge(at, base, by = "subject", sort = FALSE)
  keep <- !is.na(d$analgesic_days) & !is.na(d$base)
  if (!is.null(exposure)) keep <- keep & !is.na(d[[exposure]])
  for (c in vars) keep <- keep & !is.na(d[[c]])
  d <- d[keep, ]
  arms <- arm_levels[arm_levels %in% d$arm]
  d$arm <- factor(d$arm, levels = arms)
  for (c in vars) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  d$y <- d$analgesic_days
  d$off <- if (is.null(exposure)) 0 else log(d[[exposure]])
  f <- as.formula(paste("y ~ arm + base", paste(c("", covariates), collapse = " + "), "+ offset(off)"))
  ctl <- glm.control(epsilon = 1e-12, maxit = 200)
  nb <- glm.nb(f, data = d, control = ctl)
  po <- glm(f, family = poisson, data = d, control = ctl)
  list(
    file = basename(path), md5 = unname(tools::md5sum(path)), visit = visit, covariates = I(covariates),
    exposure = if (is.null(exposure)) NA else exposure, formula = deparse(f),
    arms = arms, n = nrow(d), n_per_arm = as.list(table(d$arm)), subjects = sort(as.character(d$subject)),
    negbin = list(coef_names = names(coef(nb)), coef = unname(coef(nb)), vcov = unname(vcov(nb)),
                  se = unname(sqrt(diag(vcov(nb)))), theta = nb$theta, theta_se = nb$SE.theta,
                  loglik = as.numeric(logLik(nb)), rate_ratios = rate_ratios(coef(nb), vcov(nb), arms),
                  rates = rates(nb, d)),
    poisson = list(coef_names = names(coef(po)), coef = unname(coef(po)), vcov = unname(vcov(po)),
                   se = unname(sqrt(diag(vcov(po)))), loglik = as.numeric(logLik(po)),
                   rate_ratios = rate_ratios(coef(po), vcov(po), arms), rates = rates(po, d))
  )
}

res <- list(
  generated_by = "tests/reference/counts_adjusted.R",
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")), emmeans = as.character(packageVersion("emmeans")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  unbalanced = analyse("tests/reference/data/safety_unbalanced.csv", 12, c("age", "sex", "pain_duration", "site")),
  exposure = analyse("tests/reference/data/counts_fixture.csv", 12, c("sex"), exposure = "days_observed"),
  factorial = analyse("data/sample/factorial.csv", 12, c("age", "sex", "site")),
  # formula terms: an interaction (the package's "age*sex", "C(site)")
  interaction = analyse("data/sample/factorial.csv", 12, c("age*sex", "site"), vars = c("age", "sex", "site"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/counts_adjusted.json")
