# Reference numbers for ct.responders with covariates: the adjusted odds ratio and the standardised
# (g-computation) risk difference and risk ratio with delta-method intervals (src/combotherapy/models/
# responders.py, standardisation.py).
#
# Run from the repository root:  Rscript tests/reference/responders_adjusted.R
# Writes tests/reference/responders_adjusted.json (full precision, jsonlite digits = NA).
#
# Responder: improvement from baseline (in the instrument's good direction) of at least the threshold
# (absolute, or a fraction of baseline), within a relative 1e-9 (the package's tie rule); no value at the visit
# = non-responder; subjects without baseline or a covariate are excluded (complete cases).
# Model: glm(responder ~ arm + baseline + covariates, binomial), epsilon 1e-15. Odds ratios between arms by hand
# (exp(L b), Wald z). Standardisation by hand: every analysed subject predicted under each arm with
# predict(fit, newdata = d with arm set, type = "response"), averaged: P_a. Delta method: the gradient of P_a is
# mean(p (1 - p) x(a)) with x(a) = model.matrix(fit) rows of the counterfactual data; var = g' vcov(fit) g;
# RD = P_a - P_b, log RR = log P_a - log P_b (gradient g_a / P_a - g_b / P_b), Wald z intervals.
# Datasets: tests/reference/data/safety_unbalanced.csv (four unbalanced arms, dropout, two subjects without
# pain_duration) and data/sample/factorial.csv (four arms of 100).
suppressPackageStartupMessages({library(jsonlite)})

TIE <- 1e-9
better <- c(pain = "lower", odi = "lower")
arm_levels <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}

analyse <- function(path, outcome, visit, threshold, relative, covariates) {
  d <- read.csv(path)
  subj <- d[!duplicated(d$subject), c("subject", "arm", covariates)]
  base <- d[d$visit == 0, c("subject", outcome)]; names(base)[2] <- "baseline"
  post <- d[d$visit == visit, c("subject", outcome)]; names(post)[2] <- "value"
  s <- merge(merge(subj, base, all.x = TRUE), post, all.x = TRUE)
  sgn <- if (better[[outcome]] == "higher") 1 else -1
  impr <- sgn * (s$value - s$baseline)
  cut <- if (relative) threshold * s$baseline else rep(threshold, nrow(s))
  reached <- impr >= cut - TIE * pmax(1, abs(cut))
  zero <- relative & !is.na(s$baseline) & s$baseline == 0
  s$resp <- ifelse(is.na(s$value) | zero, 0, as.numeric(reached))
  keep <- !is.na(s$baseline)
  for (c in covariates) keep <- keep & !is.na(s[[c]])
  s <- s[keep, ]
  arms <- arm_levels[arm_levels %in% s$arm]
  s$arm <- factor(s$arm, levels = arms)
  for (c in covariates) if (is.character(s[[c]])) s[[c]] <- factor(s[[c]])
  f <- as.formula(paste("resp ~ arm + baseline", paste(c("", covariates), collapse = " + ")))
  fit <- glm(f, family = binomial, data = s, control = glm.control(epsilon = 1e-15, maxit = 100))
  stopifnot(fit$converged)
  b <- coef(fit); V <- vcov(fit)
  risk <- lapply(arms, function(a) {
    da <- s; da$arm <- factor(rep(a, nrow(s)), levels = arms)
    p <- predict(fit, newdata = da, type = "response")
    X <- model.matrix(terms(fit), data = da)
    list(P = mean(p), g = colMeans(p * (1 - p) * X))
  })
  names(risk) <- arms
  z <- qnorm(0.975)
  standardised <- do.call(rbind, lapply(arms, function(a) {
    se <- sqrt(drop(t(risk[[a]]$g) %*% V %*% risk[[a]]$g))
    data.frame(arm = a, estimate = risk[[a]]$P, se = se, ci_low = risk[[a]]$P - z * se, ci_high = risk[[a]]$P + z * se)
  }))
  contrasts <- do.call(rbind, lapply(pairs_for(arms), function(pr) {
    A <- risk[[pr[1]]]; B <- risk[[pr[2]]]
    L <- setNames(numeric(length(b)), names(b))
    if (pr[1] != arms[1]) L[paste0("arm", pr[1])] <- 1
    if (pr[2] != arms[1]) L[paste0("arm", pr[2])] <- -1
    lor <- sum(L * b); se_or <- sqrt(drop(t(L) %*% V %*% L))
    rd <- A$P - B$P; g_rd <- A$g - B$g; se_rd <- sqrt(drop(t(g_rd) %*% V %*% g_rd))
    lrr <- log(A$P) - log(B$P); g_rr <- A$g / A$P - B$g / B$P; se_rr <- sqrt(drop(t(g_rr) %*% V %*% g_rr))
    data.frame(contrast = paste(pr[1], "-", pr[2]),
               or_log = lor, or_se = se_or, or_p = 2 * pnorm(-abs(lor / se_or)),
               rd = rd, rd_se = se_rd, rd_low = rd - z * se_rd, rd_high = rd + z * se_rd,
               rd_p = 2 * pnorm(-abs(rd / se_rd)),
               rr = exp(lrr), rr_log = lrr, rr_se = se_rr, rr_low = exp(lrr - z * se_rr),
               rr_high = exp(lrr + z * se_rr), rr_p = 2 * pnorm(-abs(lrr / se_rr)))
  }))
  list(file = basename(path), md5 = unname(tools::md5sum(path)), outcome = outcome, visit = visit,
       threshold = threshold, relative = relative, covariates = I(covariates), arms = arms,
       n_per_arm = as.list(table(s$arm)), responders = as.list(tapply(s$resp, s$arm, sum)),
       coef_names = names(b), coef = unname(b), se = unname(sqrt(diag(V))),
       standardised = standardised, contrasts = contrasts)
}

res <- list(
  generated_by = "tests/reference/responders_adjusted.R",
  r_version = R.version.string,
  packages = list(jsonlite = as.character(packageVersion("jsonlite"))),
  unbalanced = analyse("tests/reference/data/safety_unbalanced.csv", "pain", 12, 2, FALSE,
                       c("age", "sex", "pain_duration")),
  factorial = analyse("data/sample/factorial.csv", "pain", 12, 0.3, TRUE, c("age", "sex", "site")),
  factorial_odi = analyse("data/sample/factorial.csv", "odi", 26, 10, FALSE, c("sex"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor"),
           "tests/reference/responders_adjusted.json")
