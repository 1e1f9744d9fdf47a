# Reference numbers for the weighted negative binomial outcome model of combotherapy.observational
# (weighted_regression(..., family="negbin")): estimates by MASS::glm.nb with the propensity weights as prior
# weights, and sandwich covariances written out by hand.
# Run from the repository root:  Rscript tests/reference/observational_negbin.R
#   (writes tests/reference/observational_negbin.json)
#
# Data: data/sample/registry.csv; the count is the weeks to return to work rounded to whole weeks,
# count = round(work_weeks) (overdispersed: exponential times). Propensity: nnet::multinom (tight reltol).
# Outcome model: count ~ arm + pain0 + sex, NB2 (variance mu + mu^2/theta), log link, weights = ATE or overlap
# weights. glm.nb's theta.ml stops at a tolerance of about 1e-4, so its solution is polished by Newton steps on
# the weighted score (numDeriv Jacobian) until the step is below 1e-13; the polished values are compared with
# glm.nb's own (they agree to glm.nb's tolerance) and written out.
# Per-subject score of (gamma, theta), by hand:
#   s_gamma = x theta (y - mu) / (theta + mu)
#   s_theta = digamma(y + theta) - digamma(theta) + log(theta) + 1 - log(theta + mu) - (theta + y) / (theta + mu)
# Weights known:  A = -d mean(w s)/d(gamma, theta) (numDeriv), B = mean((w s)(w s)'), V = A^-1 B A^-T / n * n/(n-1)
#   (the n/(n-1) factor of survey::svyglm, as the module's other families).
# Stacked:  psi = (multinomial score; w_i(beta) s_i), A by numDeriv over (beta, gamma, theta), V = A^-1 B A^-T / n.
suppressPackageStartupMessages({library(nnet); library(MASS); library(jsonlite); library(numDeriv)})

ARMS <- c("physio", "acupuncture", "combined")
reg <- read.csv("data/sample/registry.csv")
reg$arm <- factor(reg$arm, levels = ARMS)
reg$count <- round(reg$work_weeks)
PS_REG <- ~ age + sex + pain0 + log(pain_duration)
m <- multinom(arm ~ age + sex + pain0 + log(pain_duration), data = reg, trace = FALSE, reltol = 1e-16, maxit = 5000)
beta0 <- as.vector(t(coef(m)))
Xp <- model.matrix(PS_REG, reg)
n <- nrow(reg); K <- 3; a <- as.integer(reg$arm); p <- ncol(Xp)
probs <- function(b) { B <- matrix(b, nrow = p); E <- cbind(1, exp(Xp %*% B)); E / rowSums(E) }
weights_of <- function(P, estimand) {
  eA <- P[cbind(seq_len(n), a)]
  switch(estimand, ATE = 1 / eA, overlap = (1 / eA) / rowSums(1 / P))
}
f <- count ~ arm + pain0 + sex
Z <- model.matrix(f, reg); y <- reg$count; q <- ncol(Z)

score <- function(par) {  # n x (q + 1), unweighted
  g <- par[1:q]; th <- par[q + 1]; mu <- as.vector(exp(Z %*% g)); tm <- th + mu
  cbind(Z * (th * (y - mu) / tm),
        digamma(y + th) - digamma(th) + log(th) + 1 - log(tm) - (th + y) / tm)
}

out <- list()
out$meta <- list(R = R.version.string, MASS = as.character(packageVersion("MASS")),
                 nnet = as.character(packageVersion("nnet")), numDeriv = as.character(packageVersion("numDeriv")),
                 md5_registry = unname(tools::md5sum("data/sample/registry.csv")),
                 formula = "count ~ arm + pain0 + sex", count = "round(work_weeks)")
for (est in c("ATE", "overlap")) {
  w <- weights_of(probs(beta0), est)
  reg$.w <- w
  fit <- suppressWarnings(glm.nb(f, data = reg, weights = .w, control = glm.control(epsilon = 1e-14, maxit = 100)))
  par <- c(unname(coef(fit)), fit$theta)
  for (it in 1:50) {  # polish: Newton on the weighted mean score
    U <- function(pp) colSums(w * score(pp))
    step <- solve(jacobian(U, par), U(par))
    par <- par - step
    if (max(abs(step)) < 1e-13) break
  }
  A <- -jacobian(function(pp) colMeans(w * score(pp)), par)
  S <- w * score(par)
  Vk <- solve(A) %*% (crossprod(S) / n) %*% t(solve(A)) / n * n / (n - 1)
  psi <- function(th) {
    b <- th[seq_len(p * (K - 1))]; pp <- th[p * (K - 1) + seq_len(q + 1)]
    P <- probs(b); ww <- weights_of(P, est)
    Ind <- outer(a, seq_len(K), "==") * 1
    sc <- do.call(cbind, lapply(2:K, function(k) Xp * (Ind[, k] - P[, k])))
    cbind(sc, ww * score(pp))
  }
  th_all <- c(beta0, par)
  As <- -jacobian(function(t) colMeans(psi(t)), th_all)
  Ps <- psi(th_all)
  Vs <- solve(As) %*% (crossprod(Ps) / n) %*% t(solve(As)) / n
  idx <- p * (K - 1) + seq_len(q + 1)
  out[[paste0("registry_negbin_", est)]] <- list(
    terms = colnames(Z), glm_nb_coef = unname(coef(fit)), glm_nb_theta = fit$theta,
    coef = par[1:q], theta = par[q + 1], known_vcov = unname(Vk), stacked_vcov = unname(Vs[idx, idx]))
}
write_json(out, "tests/reference/observational_negbin.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written tests/reference/observational_negbin.json\n")
