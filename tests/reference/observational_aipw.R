# Reference numbers for combotherapy.observational.aipw beyond the ATE: the ATT of a chosen arm and the overlap
# (generalised) estimand, each arm's doubly robust mean, the influence-function covariance, the contrasts and (0/1
# outcome) the risk ratios.
# Run from the repository root:  Rscript tests/reference/observational_aipw.R
#   (writes tests/reference/observational_aipw.json)
#
# Data: data/sample/registry.csv (three arms) and src/combotherapy/datasets/matchit_lalonde/lalonde.csv (two arms).
# Propensity: nnet::multinom (three arms; tight reltol) and glm(binomial) (two arms), as observational_weights.R.
# Outcome models: lm (continuous) or glm(binomial) fitted in each arm on the propensity covariates, predicted for
# everyone. The estimators are written out by hand, arm by arm, from their definitions (not in the b/g form the
# Python module uses):
#   ATT of arm t:  psi_a = [ sum_{A_i = t} m_a(X_i) + sum_{A_i = a} e_t(X_i)/e_a(X_i) (Y_i - m_a(X_i)) ] / n_t
#                  phi_ia = (n / n_t) [ 1{A_i = t} (m_a(X_i) - psi_a) + 1{A_i = a} e_t/e_a (Y_i - m_a(X_i)) ]
#   overlap:       h_i = 1 / sum_k 1/e_k(X_i)
#                  psi_a = sum_i [ h_i m_a(X_i) + 1{A_i = a} h_i/e_a(X_i) (Y_i - m_a(X_i)) ] / sum_i h_i
#                  phi_ia = (n / sum h) [ h_i (m_a(X_i) - psi_a) + 1{A_i = a} h_i/e_a (Y_i - m_a(X_i)) ]
#   Cov(psi) = sum_i phi_i phi_i' / n^2; contrasts a - b with SE sqrt(V_aa + V_bb - 2 V_ab); risk ratios by the
#   delta method on the log scale.
suppressPackageStartupMessages({library(nnet); library(jsonlite)})

ARMS <- c("physio", "acupuncture", "combined")
reg <- read.csv("data/sample/registry.csv")
reg$arm <- factor(reg$arm, levels = ARMS)
lal <- read.csv("src/combotherapy/datasets/matchit_lalonde/lalonde.csv")
lal$arm <- factor(lal$treat, levels = c(0, 1))
PS_REG <- ~ age + sex + pain0 + log(pain_duration)
PS_LAL <- ~ age + educ + race + married + nodegree + re74 + re75

ps_of <- function(d, rhs) {
  f <- update(rhs, arm ~ .)
  if (nlevels(d$arm) == 2) {
    g <- glm(f, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
    p1 <- fitted(g); cbind(1 - p1, p1)
  } else {
    m <- multinom(f, data = d, trace = FALSE, reltol = 1e-16, maxit = 5000)
    fitted(m)
  }
}

outcome_predictions <- function(d, rhs, yname, family) {
  a <- as.integer(d$arm); f <- update(rhs, paste(yname, "~ ."))
  sapply(seq_len(nlevels(d$arm)), function(k) {
    fit <- if (family == "gaussian") lm(f, data = d[a == k, ]) else
      glm(f, family = binomial, data = d[a == k, ], control = glm.control(epsilon = 1e-14, maxit = 100))
    predict(fit, newdata = d, type = "response")
  })
}

aipw_att <- function(d, P, M, y, t) {
  a <- as.integer(d$arm); n <- nrow(d); K <- ncol(P); nt <- sum(a == t)
  psi <- numeric(K); phi <- matrix(0, n, K)
  for (k in seq_len(K)) {
    aug <- ifelse(a == k, P[, t] / P[, k] * (y - M[, k]), 0)
    psi[k] <- (sum(M[a == t, k]) + sum(aug)) / nt
    phi[, k] <- (n / nt) * (ifelse(a == t, M[, k] - psi[k], 0) + aug)
  }
  list(psi = psi, vcov = crossprod(phi) / n^2)
}

aipw_overlap <- function(d, P, M, y) {
  a <- as.integer(d$arm); n <- nrow(d); K <- ncol(P)
  h <- 1 / rowSums(1 / P)
  psi <- numeric(K); phi <- matrix(0, n, K)
  for (k in seq_len(K)) {
    aug <- ifelse(a == k, h / P[, k] * (y - M[, k]), 0)
    psi[k] <- sum(h * M[, k] + aug) / sum(h)
    phi[, k] <- (n / sum(h)) * (h * (M[, k] - psi[k]) + aug)
  }
  list(psi = psi, vcov = crossprod(phi) / n^2)
}

contrasts_of <- function(r, arms, pairs) {
  t(sapply(pairs, function(pr) {
    i <- match(pr[1], arms); j <- match(pr[2], arms); V <- r$vcov
    c(estimate = r$psi[i] - r$psi[j], se = sqrt(V[i, i] + V[j, j] - 2 * V[i, j]))
  }))
}

ratios_of <- function(r, arms, pairs) {
  t(sapply(pairs, function(pr) {
    i <- match(pr[1], arms); j <- match(pr[2], arms); V <- r$vcov; m <- r$psi
    c(estimate = m[i] / m[j],
      log_se = sqrt(V[i, i] / m[i]^2 + V[j, j] / m[j]^2 - 2 * V[i, j] / (m[i] * m[j])))
  }))
}

PAIRS3 <- list(c("physio", "acupuncture"), c("physio", "combined"), c("acupuncture", "combined"))
pack <- function(r, arms, pairs, ratio = FALSE) {
  out <- list(means = unname(r$psi), vcov = unname(r$vcov), contrasts = unname(contrasts_of(r, arms, pairs)))
  if (ratio) out$ratios <- unname(ratios_of(r, arms, pairs))
  out
}

out <- list()
out$meta <- list(R = R.version.string, nnet = as.character(packageVersion("nnet")),
                 md5_registry = unname(tools::md5sum("data/sample/registry.csv")),
                 md5_lalonde = unname(tools::md5sum("src/combotherapy/datasets/matchit_lalonde/lalonde.csv")),
                 pairs_registry = PAIRS3)

P <- ps_of(reg, PS_REG)
for (yname in c("pain", "recovered")) {
  fam <- if (yname == "pain") "gaussian" else "binomial"
  M <- outcome_predictions(reg, PS_REG, yname, fam); y <- reg[[yname]]
  for (t in c("combined", "physio")) {
    out[[paste0("registry_ATT_", t, "_", yname)]] <- pack(aipw_att(reg, P, M, y, match(t, ARMS)), ARMS, PAIRS3,
                                                          fam == "binomial")
  }
  out[[paste0("registry_overlap_", yname)]] <- pack(aipw_overlap(reg, P, M, y), ARMS, PAIRS3, fam == "binomial")
}

Pl <- ps_of(lal, PS_LAL)
Ml <- outcome_predictions(lal, PS_LAL, "re78", "gaussian")
out$lalonde_ATT_re78 <- pack(aipw_att(lal, Pl, Ml, lal$re78, 2), c("0", "1"), list(c("0", "1")))
out$lalonde_overlap_re78 <- pack(aipw_overlap(lal, Pl, Ml, lal$re78), c("0", "1"), list(c("0", "1")))

write_json(out, "tests/reference/observational_aipw.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written tests/reference/observational_aipw.json\n")
