# Reference numbers for ct.mediation (src/combotherapy/models/mediation.py).
#
# Run from the repository root:  Rscript tests/reference/mediation.R
# Writes tests/reference/mediation.json (full precision, jsonlite digits = NA).
#
# R's `mediation` package is NOT installed here (not packaged in Debian, CRAN unreachable), so its algorithm is
# written out by hand:
#   1. the regressions: mediator model lm(M ~ T + X), outcome model lm(Y ~ T + M + X) or
#      glm(cbind(attended, planned - attended) ~ T + M + X, binomial), total model without M. For linear models
#      the ACME is a * b (product of coefficients, Sobel SE sqrt(a^2 se_b^2 + b^2 se_a^2)), the ADE is c' and
#      c = c' + a * b exactly (same covariates in all models);
#   2. the quasi-Bayesian simulation of mediation::mediate (Imai, Keele, Tingley 2010; Tingley et al. 2014):
#      coefficients of both models drawn from MASS::mvrnorm(coef, vcov); potential mediators
#      M(t) = X_m(t) beta_m + e with ONE error vector e ~ N(0, sigma^2) shared by t = 0 and t = 1 (as mediate
#      does for lm mediators); potential outcomes predicted from the outcome model (probabilities for the binomial);
#      ACME(t) = mean_i[Y(t, M(1)) - Y(t, M(0))], ADE(t) = mean_i[Y(1, M(t)) - Y(0, M(t))],
#      total = (ACME(0) + ACME(1) + ADE(0) + ADE(1)) / 2, proportion mediated = ACME / total per draw.
#      Summaries as mediate: mean of the draws (median for the proportions mediated), 2.5/97.5 % quantiles,
#      p = 2 * min(mean(x > 0), mean(x < 0)). With a linear outcome the per-subject algebra collapses to
#      ACME(t) = b * a and ADE(t) = c' in every draw; that shortcut is used for the linear cases.
#   Many draws (see `sims`) so that the reference's own Monte Carlo error is small next to the package's.
# Mediator: change in pain from baseline to week 4. T = 1 for the first arm of `treatment`.
# Data: data/sample/three_arm.csv, tests/reference/data/safety_unbalanced.csv.
suppressPackageStartupMessages({library(jsonlite); library(MASS)})
set.seed(20240605)

subjects <- function(path, treatment, outcome, covariates) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  s <- d[d$visit == 0 & d$arm %in% treatment, ]
  s$T <- as.numeric(s$arm == treatment[1])
  s$m_base <- s$pain
  w4 <- d[d$visit == 4, ]
  s$M <- w4$pain[match(s$subject, w4$subject)] - s$m_base
  keep <- !is.na(s$M) & !is.na(s$m_base)
  if (outcome == "adherence") {
    keep <- keep & !is.na(s$sessions_planned) & s$sessions_planned > 0 & !is.na(s$sessions_attended)
  } else {
    w12 <- d[d$visit == 12, ]
    s$Y <- w12[[outcome]][match(s$subject, w12$subject)]
    s$y_base <- s[[outcome]]
    keep <- keep & !is.na(s$Y) & !is.na(s$y_base)
  }
  for (c in covariates) keep <- keep & !is.na(s[[c]])
  s[keep, ]
}

summ <- function(x, median_point = FALSE) {
  list(estimate = if (median_point) median(x) else mean(x), mean = mean(x), sd = sd(x),
       ci_low = unname(quantile(x, 0.025)), ci_high = unname(quantile(x, 0.975)),
       p = 2 * min(mean(x > 0), mean(x < 0)))
}

effects <- function(acme0, acme1, ade0, ade1) {
  total <- (acme0 + acme1 + ade0 + ade1) / 2
  list(acme_control = summ(acme0), acme_treated = summ(acme1), acme_average = summ((acme0 + acme1) / 2),
       ade_control = summ(ade0), ade_treated = summ(ade1), ade_average = summ((ade0 + ade1) / 2),
       total = summ(total), prop_control = summ(acme0 / total, TRUE), prop_treated = summ(acme1 / total, TRUE),
       prop_average = summ((acme0 + acme1) / 2 / total, TRUE))
}

path_row <- function(fit, term) {
  cf <- summary(fit)$coefficients
  list(estimate = cf[term, 1], se = cf[term, 2], p = cf[term, 4])
}

run <- function(path, treatment, outcome, covariates, sims) {
  s <- subjects(path, treatment, outcome, covariates)
  x <- c("m_base", if (outcome != "adherence" && outcome != "pain") "y_base", covariates)
  fm <- lm(reformulate(c("T", x), "M"), data = s)
  if (outcome == "adherence") {
    resp <- "cbind(sessions_attended, sessions_planned - sessions_attended)"
    fo <- glm(reformulate(c("T", "M", x), resp), family = binomial, data = s,
              control = glm.control(epsilon = 1e-14, maxit = 100))
    fc <- glm(reformulate(c("T", x), resp), family = binomial, data = s,
              control = glm.control(epsilon = 1e-14, maxit = 100))
  } else {
    fo <- lm(reformulate(c("T", "M", x), "Y"), data = s)
    fc <- lm(reformulate(c("T", x), "Y"), data = s)
  }
  a <- path_row(fm, "T"); b <- path_row(fo, "M"); cp <- path_row(fo, "T"); cc <- path_row(fc, "T")
  out <- list(file = path, md5 = unname(tools::md5sum(path)), treatment = treatment, outcome = outcome,
              covariates = covariates, n = nrow(s), n_treated = sum(s$T == 1), n_control = sum(s$T == 0),
              sigma = summary(fm)$sigma, sims = sims,
              paths = list(a = a, b = b, c_prime = cp, c = cc))
  bm <- mvrnorm(sims, coef(fm), vcov(fm))
  bo <- mvrnorm(sims, coef(fo), vcov(fo))
  if (outcome != "adherence") {
    out$paths$ab <- list(estimate = a$estimate * b$estimate,
                         se = sqrt(a$estimate^2 * b$se^2 + b$estimate^2 * a$se^2))
    stopifnot(abs(cc$estimate - (cp$estimate + a$estimate * b$estimate)) < 1e-10)
    acme <- bm[, "T"] * bo[, "M"]
    out$effects <- effects(acme, acme, bo[, "T"], bo[, "T"])
  } else {
    Xm <- model.matrix(fm); Xo <- model.matrix(fo); n <- nrow(Xm)
    Xm0 <- Xm; Xm0[, "T"] <- 0; Xm1 <- Xm; Xm1[, "T"] <- 1
    Xo0 <- Xo; Xo0[, "M"] <- 0; Xo0[, "T"] <- 0; Xo1 <- Xo0; Xo1[, "T"] <- 1
    sigma <- summary(fm)$sigma
    acme0 <- acme1 <- ade0 <- ade1 <- numeric(sims)
    chunk <- 4000
    for (start in seq(1, sims, by = chunk)) {
      idx <- start:min(sims, start + chunk - 1); k <- length(idx)
      e <- matrix(rnorm(n * k, 0, sigma), n, k)
      M0 <- Xm0 %*% t(bm[idx, ]) + e
      M1 <- Xm1 %*% t(bm[idx, ]) + e
      bM <- matrix(bo[idx, "M"], n, k, byrow = TRUE)
      base0 <- Xo0 %*% t(bo[idx, ]); base1 <- Xo1 %*% t(bo[idx, ])
      p <- function(base, M) plogis(base + bM * M)
      acme0[idx] <- colMeans(p(base0, M1) - p(base0, M0))
      acme1[idx] <- colMeans(p(base1, M1) - p(base1, M0))
      ade0[idx] <- colMeans(p(base1, M0) - p(base0, M0))
      ade1[idx] <- colMeans(p(base1, M1) - p(base0, M1))
    }
    out$effects <- effects(acme0, acme1, ade0, ade1)
  }
  out
}

out <- list(
  R = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")), jsonlite = as.character(packageVersion("jsonlite"))),
  note = "mediation package not installed: ACME/ADE by hand (product of coefficients; mediate's simulation written out)",
  cases = list(
    three_arm_pain = run("data/sample/three_arm.csv", c("combined", "physio"), "pain", character(0), 400000),
    unbalanced_odi_cov = run("tests/reference/data/safety_unbalanced.csv", c("combined", "acupuncture"), "odi",
                             c("age", "sex"), 400000),
    three_arm_adherence = run("data/sample/three_arm.csv", c("combined", "physio"), "adherence", character(0),
                              100000),
    unbalanced_adherence_age = run("tests/reference/data/safety_unbalanced.csv", c("combined", "physio"),
                                   "adherence", "age", 100000)
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/mediation.json")
cat("wrote tests/reference/mediation.json\n")
