# Reference numbers for ct.adverse_events(covariates=...): covariate-adjusted incidence rate ratios of all
# adverse events (src/combotherapy/models/safety_adjusted.py).
#
# Run from the repository root:  Rscript tests/reference/safety_adjusted.R
# Writes tests/reference/safety_adjusted.json (full precision, jsonlite digits = NA).
#
# Per subject: events = adverse_events, follow-up T = the last visit (weeks) with any visit-level outcome
# (pain, odi, rmdq, rom, crp, analgesic_days, phq9, eq5d, endurance) non-missing, the package's default.
# Subjects without a count, with T = 0 or a missing covariate are left out. Model: MASS::glm.nb (epsilon 1e-12)
# or glm(poisson) of events ~ arm + covariates + offset(log(T)); rate ratios between arms by hand, Wald z.
# (glm.nb on factorial.csv warns "alternation limit reached" at theta about 53: the likelihood is flat in theta
# there; the rate ratios agree with the package to 1e-6.)
# Data: data/sample/factorial.csv (negative binomial and Poisson) and tests/reference/data/safety_unbalanced.csv
# (Poisson; there the negative binomial size runs to infinity and the package falls back to Poisson).
suppressPackageStartupMessages({library(MASS); library(jsonlite)})

outcomes <- c("pain", "odi", "rmdq", "rom", "crp", "analgesic_days", "phq9", "eq5d", "endurance")
arm_levels <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}

analyse <- function(path, covariates, family) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  seen <- rowSums(!is.na(d[, outcomes])) > 0
  last <- tapply(ifelse(seen, d$visit, NA), d$subject, function(v) if (all(is.na(v))) NA else max(v, na.rm = TRUE))
  s <- d[!duplicated(d$subject), ]
  s$T <- as.numeric(last[as.character(s$subject)])
  keep <- !is.na(s$adverse_events) & !is.na(s$T) & s$T > 0
  for (c in covariates) keep <- keep & !is.na(s[[c]])
  s <- s[keep, ]
  arms <- arm_levels[arm_levels %in% s$arm]
  s$arm <- factor(s$arm, levels = arms)
  for (c in covariates) if (is.character(s[[c]])) s[[c]] <- factor(s[[c]])
  f <- as.formula(paste("adverse_events ~ arm +", paste(covariates, collapse = " + "), "+ offset(log(T))"))
  fit <- if (family == "negbin") glm.nb(f, data = s, control = glm.control(epsilon = 1e-12, maxit = 200))
         else glm(f, family = poisson, data = s, control = glm.control(epsilon = 1e-12, maxit = 200))
  b <- coef(fit); V <- vcov(fit)
  rr <- do.call(rbind, lapply(pairs_for(arms), function(p) {
    L <- setNames(numeric(length(b)), names(b))
    if (p[1] != arms[1]) L[paste0("arm", p[1])] <- 1
    if (p[2] != arms[1]) L[paste0("arm", p[2])] <- -1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
    data.frame(contrast = paste(p[1], "-", p[2]), log_estimate = est, se = se, estimate = exp(est),
               ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se),
               p = 2 * pnorm(-abs(est / se)))
  }))
  list(file = basename(path), md5 = unname(tools::md5sum(path)), covariates = I(covariates), family = family,
       n = nrow(s), theta = if (family == "negbin") fit$theta else NA, rate_ratios = rr)
}

res <- list(
  generated_by = "tests/reference/safety_adjusted.R",
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")), jsonlite = as.character(packageVersion("jsonlite"))),
  cases = list(
    factorial_negbin = analyse("data/sample/factorial.csv", c("age", "sex", "site"), "negbin"),
    factorial_poisson = analyse("data/sample/factorial.csv", c("age", "sex", "site"), "poisson"),
    unbalanced_poisson = analyse("tests/reference/data/safety_unbalanced.csv", c("age", "sex", "pain_duration"),
                                 "poisson")
  )
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/safety_adjusted.json")
