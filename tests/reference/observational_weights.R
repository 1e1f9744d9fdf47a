# Reference numbers for combotherapy.observational: propensity scores, weights, ESS, balance, weighted means
# (survey::svyglm SEs with weights known; a hand-written stacked estimating-equations sandwich for SEs that
# account for the estimated propensity score), AIPW and E-values.
# Run from the repository root:  Rscript tests/reference/observational_weights.R
#   (writes tests/reference/observational_weights.json)
#
# Data: data/sample/registry.csv (simulated registry, three arms) and
#       src/combotherapy/datasets/matchit_lalonde/lalonde.csv (two arms).
# Propensity: nnet::multinom (three arms; tight reltol) and glm(binomial) (two arms).
# Weights, ESS, SMDs (0/1 covariates: SD sqrt(p(1-p)), no variance ratio), variance ratios, AIPW and E-values:
# hand formulas written out below (the definitions in the
# modules' docstrings). Stacked sandwich: psi_i(theta) = (multinomial/logistic score; w_i(beta) 1{A_i = a}(Y_i - mu_a)),
# A = -d mean(psi)/d theta by numDeriv::jacobian (numerical, independent of the analytic derivative in Python),
# B = mean(psi psi'), V = A^-1 B A^-T / n.
suppressPackageStartupMessages({library(nnet); library(survey); library(jsonlite); library(numDeriv)
                                 library(survival)})

ARMS <- c("physio", "acupuncture", "combined")
reg <- read.csv("data/sample/registry.csv")
reg$arm <- factor(reg$arm, levels = ARMS)
lal <- read.csv("src/combotherapy/datasets/matchit_lalonde/lalonde.csv")
lal$arm <- factor(lal$treat, levels = c(0, 1))
PS_REG <- ~ age + sex + pain0 + log(pain_duration)
PS_LAL <- ~ age + educ + race + married + nodegree + re74 + re75

fit_ps <- function(d, rhs) {
  f <- update(rhs, arm ~ .)
  if (nlevels(d$arm) == 2) {
    g <- glm(f, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
    p1 <- fitted(g)
    list(coef = unname(coef(g)), se = unname(sqrt(diag(vcov(g)))), P = cbind(1 - p1, p1),
         X = model.matrix(rhs, d))
  } else {
    m <- multinom(f, data = d, trace = FALSE, reltol = 1e-16, maxit = 5000, Hess = TRUE)
    cf <- coef(m)  # (K-1) x p, rows = equations
    list(coef = as.vector(t(cf)), se = as.vector(t(summary(m)$standard.errors)), P = fitted(m),
         X = model.matrix(rhs, d))
  }
}

weights_of <- function(P, a, estimand, target = NULL) {
  n <- nrow(P); eA <- P[cbind(seq_len(n), a)]
  switch(estimand,
         ATE = 1 / eA,
         ATT = P[, target] / eA,
         overlap = (1 / eA) / rowSums(1 / P))
}

ess <- function(w, a, K) sapply(seq_len(K), function(k) sum(w[a == k])^2 / sum(w[a == k]^2))

wmean <- function(x, w) sum(w * x) / sum(w)
wvar <- function(x, w) { m <- wmean(x, w); sum(w * (x - m)^2) / (sum(w) - sum(w^2) / sum(w)) }

covmat <- function(d, vars) {  # numeric as is, character -> one indicator per level
  out <- list()
  for (v in vars) {
    x <- d[[v]]
    if (is.numeric(x)) out[[v]] <- as.numeric(x) else
      for (l in sort(unique(as.character(x)))) out[[paste0(v, ": ", l)]] <- as.numeric(as.character(x) == l)
  }
  as.data.frame(out, check.names = FALSE)
}

PAIRS3 <- list(c("combined", "physio"), c("combined", "acupuncture"), c("physio", "acupuncture"))

balance_tab <- function(d, vars, w, pairs) {
  C <- covmat(d, vars); rows <- list()
  for (pr in pairs) for (v in names(C)) {
    i <- d$arm == pr[1]; j <- d$arm == pr[2]; x <- C[[v]]
    bin <- all(x %in% c(0, 1))
    V <- function(x, w) if (bin) wmean(x, w) * (1 - wmean(x, w)) else wvar(x, w)  # 0/1: p(1 - p)
    one <- rep(1, length(x))
    sd0 <- sqrt((V(x[i], one[i]) + V(x[j], one[j])) / 2)
    rows[[length(rows) + 1]] <- data.frame(covariate = v, first = pr[1], second = pr[2],
      smd_before = (mean(x[i]) - mean(x[j])) / sd0,
      smd_after = (wmean(x[i], w[i]) - wmean(x[j], w[j])) / sd0,
      vr_before = if (bin) NA else var(x[i]) / var(x[j]), vr_after = if (bin) NA else wvar(x[i], w[i]) / wvar(x[j], w[j]))
  }
  do.call(rbind, rows)
}

# stacked estimating equations; theta = (beta by equation, mu_1..mu_K)
stacked <- function(d, X, theta_beta, y, estimand, target = NULL) {
  n <- nrow(X); p <- ncol(X); K <- nlevels(d$arm); a <- as.integer(d$arm)
  probs <- function(b) {
    B <- matrix(b, nrow = p)  # p x (K-1)
    E <- cbind(1, exp(X %*% B)); E / rowSums(E)
  }
  P0 <- probs(theta_beta); w0 <- weights_of(P0, a, estimand, target)
  mu0 <- sapply(seq_len(K), function(k) wmean(y[a == k], w0[a == k]))
  psi <- function(theta) {
    b <- theta[seq_len(p * (K - 1))]; mu <- theta[p * (K - 1) + seq_len(K)]
    P <- probs(b); w <- weights_of(P, a, estimand, target)
    Ind <- outer(a, seq_len(K), "==") * 1
    sc <- do.call(cbind, lapply(2:K, function(k) X * (Ind[, k] - P[, k])))
    mm <- Ind * w * (y - matrix(mu, n, K, byrow = TRUE))
    cbind(sc, mm)
  }
  th <- c(theta_beta, mu0)
  A <- -jacobian(function(t) colMeans(psi(t)), th)
  Ps <- psi(th); Bm <- crossprod(Ps) / n
  V <- solve(A) %*% Bm %*% t(solve(A)) / n
  q <- p * (K - 1)
  list(mu = mu0, vcov = V[q + seq_len(K), q + seq_len(K)])
}

contrasts_of <- function(mu, V, arms, pairs) {
  t(sapply(pairs, function(pr) {
    i <- match(pr[1], arms); j <- match(pr[2], arms)
    c(estimate = mu[i] - mu[j], se = sqrt(V[i, i] + V[j, j] - 2 * V[i, j]))
  }))
}

svy_means <- function(d, y, w) {
  d$.y <- y; d$.w <- w
  des <- svydesign(ids = ~1, weights = ~.w, data = d)
  s <- svyglm(.y ~ 0 + arm, design = des)
  list(estimate = unname(coef(s)), vcov = unname(vcov(s)))
}

aipw_of <- function(d, rhs, yname, family) {
  K <- nlevels(d$arm); a <- as.integer(d$arm); n <- nrow(d)
  P <- fit_ps(d, PS_REG)$P
  f <- update(rhs, paste(yname, "~ ."))
  M <- sapply(seq_len(K), function(k) {
    fit <- if (family == "gaussian") lm(f, data = d[a == k, ]) else
      glm(f, family = binomial, data = d[a == k, ], control = glm.control(epsilon = 1e-14, maxit = 100))
    predict(fit, newdata = d, type = "response")
  })
  Y <- d[[yname]]; Ind <- outer(a, seq_len(K), "==") * 1
  aug <- M + Ind * (Y - M) / P
  psi <- colMeans(aug); phi <- sweep(aug, 2, psi)
  list(psi = unname(psi), vcov = unname(crossprod(phi) / n^2))
}

evalue_rr <- function(rr) { rr <- ifelse(rr < 1, 1 / rr, rr); rr + sqrt(rr * (rr - 1)) }
evalue_ci <- function(rr, lo, hi) ifelse(rr >= 1, ifelse(lo <= 1, 1, evalue_rr(lo)), ifelse(hi >= 1, 1, evalue_rr(hi)))

out <- list()
out$meta <- list(R = R.version.string, nnet = as.character(packageVersion("nnet")),
                 survival = as.character(packageVersion("survival")),
                 survey = as.character(packageVersion("survey")), numDeriv = as.character(packageVersion("numDeriv")),
                 md5_registry = unname(tools::md5sum("data/sample/registry.csv")),
                 md5_lalonde = unname(tools::md5sum("src/combotherapy/datasets/matchit_lalonde/lalonde.csv")))

# ---- registry, three arms ----
ps <- fit_ps(reg, PS_REG)
a <- as.integer(reg$arm); K <- 3
out$registry_ps <- list(coef = ps$coef, se = ps$se, P_head = unname(ps$P[1:10, ]), P_colmeans = unname(colMeans(ps$P)))
vars <- c("age", "sex", "pain0", "pain_duration")
for (spec in list(list("ATE", NULL), list("ATT", "combined"), list("overlap", NULL))) {
  est <- spec[[1]]; tgt <- spec[[2]]
  w <- weights_of(ps$P, a, est, if (is.null(tgt)) NULL else match(tgt, ARMS))
  key <- paste0("registry_", est)
  st <- stacked(reg, ps$X, ps$coef, reg$pain, est, if (is.null(tgt)) NULL else match(tgt, ARMS))
  sv <- svy_means(reg, reg$pain, w)
  out[[key]] <- list(
    weights_head = w[1:10], weights_sum = sapply(1:K, function(k) sum(w[a == k])), ess = ess(w, a, K),
    balance = balance_tab(reg, vars, w, PAIRS3),
    means = st$mu, stacked_vcov = st$vcov, stacked_contrasts = contrasts_of(st$mu, st$vcov, ARMS, PAIRS3),
    svy_means = sv$estimate, svy_vcov = sv$vcov, svy_contrasts = contrasts_of(sv$estimate, sv$vcov, ARMS, PAIRS3))
}
w <- weights_of(ps$P, a, "ATE")
ws <- w * (table(a) / length(a))[a]
out$registry_ATE_stabilized <- list(weights_head = as.numeric(ws[1:10]), ess = ess(as.numeric(ws), a, K))
cap <- unname(quantile(w, 0.99))
out$registry_ATE_truncated <- list(cap = cap, n_truncated = sum(w > cap), ess = ess(pmin(w, cap), a, K))
# AIPW, continuous and binary outcome
ap <- aipw_of(reg, PS_REG, "pain", "gaussian")
sdp <- sqrt(sum(tapply(reg$pain, reg$arm, function(x) sum((x - mean(x))^2))) / (nrow(reg) - K))
cp <- contrasts_of(ap$psi, ap$vcov, ARMS, PAIRS3)
d <- cp[, "estimate"] / sdp; sd_d <- cp[, "se"] / sdp
rr <- exp(0.91 * d); lo <- exp(0.91 * d - 1.78 * sd_d); hi <- exp(0.91 * d + 1.78 * sd_d)
out$registry_aipw_pain <- list(means = ap$psi, vcov = ap$vcov, contrasts = cp, sd_outcome = sdp,
                               evalue = evalue_rr(rr), evalue_ci = evalue_ci(rr, lo, hi))
ab <- aipw_of(reg, PS_REG, "recovered", "binomial")
rr <- sapply(PAIRS3, function(pr) ab$psi[match(pr[1], ARMS)] / ab$psi[match(pr[2], ARMS)])
J <- diag(1 / ab$psi); VL <- J %*% ab$vcov %*% J
se_l <- sapply(PAIRS3, function(pr) { i <- match(pr[1], ARMS); j <- match(pr[2], ARMS); sqrt(VL[i, i] + VL[j, j] - 2 * VL[i, j]) })
lo <- exp(log(rr) - qnorm(0.975) * se_l); hi <- exp(log(rr) + qnorm(0.975) * se_l)
out$registry_aipw_recovered <- list(means = ab$psi, vcov = ab$vcov, rr = rr, log_se = se_l,
                                    evalue = evalue_rr(rr), evalue_ci = evalue_ci(rr, lo, hi))
# E-values: VanderWeele & Ding (2017) worked example RR 3.9 (1.8, 8.7); OR and HR conversions
out$evalues <- list(rr_example = c(evalue_rr(3.9), evalue_ci(3.9, 1.8, 8.7)),
                    or_common = c(evalue_rr(sqrt(2.0)), evalue_ci(sqrt(2.0), sqrt(1.5), sqrt(2.6))),
                    hr_common = {h <- function(x) (1 - 0.5^sqrt(x)) / (1 - 0.5^sqrt(1 / x));
                                 c(evalue_rr(h(0.6)), evalue_ci(h(0.6), h(0.45), h(0.8)))})


# ---- weighted outcome regressions (registry, ATE weights): svyglm (weights known) and stacked sandwich ----
stacked_reg <- function(d, X, theta_beta, Z, y, estimand, family) {
  n <- nrow(X); p <- ncol(X); K <- nlevels(d$arm); a <- as.integer(d$arm); q <- ncol(Z)
  probs <- function(b) { B <- matrix(b, nrow = p); E <- cbind(1, exp(X %*% B)); E / rowSums(E) }
  mean_fn <- function(eta) switch(family, gaussian = eta, binomial = plogis(eta), poisson = exp(eta))
  psi <- function(theta) {
    b <- theta[seq_len(p * (K - 1))]; g <- theta[p * (K - 1) + seq_len(q)]
    P <- probs(b); w <- weights_of(P, a, estimand)
    Ind <- outer(a, seq_len(K), "==") * 1
    sc <- do.call(cbind, lapply(2:K, function(k) X * (Ind[, k] - P[, k])))
    cbind(sc, Z * as.vector(w * (y - mean_fn(Z %*% g))))
  }
  w0 <- weights_of(probs(theta_beta), a, estimand)
  g0 <- coef(glm.fit(Z, y, weights = w0, family = switch(family, gaussian = gaussian(), binomial = quasibinomial(),
                                                         poisson = quasipoisson()),
                     control = glm.control(epsilon = 1e-14, maxit = 100)))
  th <- c(theta_beta, g0)
  A <- -jacobian(function(t) colMeans(psi(t)), th)
  Ps <- psi(th); V <- solve(A) %*% (crossprod(Ps) / n) %*% t(solve(A)) / n
  idx <- p * (K - 1) + seq_len(q)
  list(coef = unname(g0), vcov = unname(V[idx, idx]))
}
wate <- weights_of(ps$P, a, "ATE")
reg$.w <- wate
des <- svydesign(ids = ~1, weights = ~.w, data = reg)
f_lin <- pain ~ arm + pain0 + age + sex + log(pain_duration)
f_log <- recovered ~ arm + pain0 + sex
s_lin <- svyglm(f_lin, design = des)
s_log <- svyglm(f_log, design = des, family = quasibinomial())
st_lin <- stacked_reg(reg, ps$X, ps$coef, model.matrix(f_lin, reg), reg$pain, "ATE", "gaussian")
st_log <- stacked_reg(reg, ps$X, ps$coef, model.matrix(f_log, reg), reg$recovered, "ATE", "binomial")
# a count for the log-linear (robust Poisson) check: week-12 pain rounded to whole points (all >= 1 here)
reg$count <- pmax(round(reg$pain), 0)
f_poi <- count ~ arm + pain0 + sex
des <- svydesign(ids = ~1, weights = ~.w, data = reg)
s_poi <- svyglm(f_poi, design = des, family = quasipoisson())
st_poi <- stacked_reg(reg, ps$X, ps$coef, model.matrix(f_poi, reg), reg$count, "ATE", "poisson")
out$registry_wreg_poisson <- list(terms = names(coef(s_poi)), coef = unname(coef(s_poi)), svy_vcov = unname(vcov(s_poi)),
                                  stacked_coef = st_poi$coef, stacked_vcov = st_poi$vcov)
out$registry_wreg_linear <- list(terms = names(coef(s_lin)), coef = unname(coef(s_lin)), svy_vcov = unname(vcov(s_lin)),
                                 stacked_coef = st_lin$coef, stacked_vcov = st_lin$vcov)
out$registry_wreg_logistic <- list(terms = names(coef(s_log)), coef = unname(coef(s_log)), svy_vcov = unname(vcov(s_log)),
                                   stacked_coef = st_log$coef, stacked_vcov = st_log$vcov)

# weighted Cox (ATE and overlap weights): coxph with case weights, robust (Lin-Wei) SEs, Breslow ties; and the
# stacked sandwich: psi = (multinomial score, w_i * score residual_i), A_gb = -d U(g; w(beta)) / d beta / n with the
# weighted Breslow score U written out below and differentiated by numDeriv, A_gg = solve(naive.var) / n
cox_score <- function(g, tt, dd, Z, w) {
  r <- w * exp(drop(Z %*% g)); U <- rep(0, ncol(Z))
  for (i in which(dd == 1)) {
    at <- tt >= tt[i]
    U <- U + w[i] * (Z[i, ] - colSums(r[at] * Z[at, , drop = FALSE]) / sum(r[at]))
  }
  U
}
for (est in c("ATE", "overlap")) {
  reg$.wc <- weights_of(ps$P, a, est)
  fc <- coxph(Surv(work_weeks, returned) ~ arm, data = reg, weights = .wc, robust = TRUE, ties = "breslow")
  Z <- model.matrix(~ arm, reg)[, -1]; n <- nrow(reg); p <- ncol(ps$X)
  U_of_beta <- function(b) {
    B <- matrix(b, nrow = p); E <- cbind(1, exp(ps$X %*% B)); P <- E / rowSums(E)
    cox_score(coef(fc), reg$work_weeks, reg$returned, Z, weights_of(P, a, est))
  }
  dU <- jacobian(U_of_beta, ps$coef)
  Ind <- outer(a, 1:3, "==") * 1
  sc <- do.call(cbind, lapply(2:3, function(k) ps$X * (Ind[, k] - ps$P[, k])))
  Ibb <- -jacobian(function(b) { B <- matrix(b, nrow = p); E <- cbind(1, exp(ps$X %*% B)); P <- E / rowSums(E)
                                 colMeans(do.call(cbind, lapply(2:3, function(k) ps$X * (Ind[, k] - P[, k])))) },
                   ps$coef)
  psi_g <- reg$.wc * residuals(fc, type = "score")
  q <- length(ps$coef); k <- ncol(Z)
  A <- matrix(0, q + k, q + k)
  A[1:q, 1:q] <- Ibb; A[q + 1:k, 1:q] <- -dU / n; A[q + 1:k, q + 1:k] <- solve(fc$naive.var) / n
  psi <- cbind(sc, psi_g)
  V <- solve(A) %*% (crossprod(psi) / n) %*% t(solve(A)) / n
  out[[paste0("registry_cox_", est)]] <- list(coef = unname(coef(fc)), vcov = unname(vcov(fc)),
                                              stacked_vcov = unname(V[q + 1:k, q + 1:k]))
}

# ---- lalonde, two arms (ATT of treat = 1) ----
psl <- fit_ps(lal, PS_LAL)
al <- as.integer(lal$arm)
wl <- weights_of(psl$P, al, "ATT", 2)
stl <- stacked(lal, psl$X, psl$coef, lal$re78, "ATT", 2)
svl <- svy_means(lal, lal$re78, wl)
varsl <- c("age", "educ", "race", "married", "nodegree", "re74", "re75")
out$lalonde_ps <- list(coef = psl$coef, se = psl$se, P_head = unname(psl$P[1:10, 2]))
out$lalonde_ATT <- list(weights_sum = sapply(1:2, function(k) sum(wl[al == k])), ess = ess(wl, al, 2),
                        balance = balance_tab(lal, varsl, wl, list(c("1", "0"))),
                        means = stl$mu, stacked_vcov = stl$vcov, svy_means = svl$estimate, svy_vcov = svl$vcov)
write_json(out, "tests/reference/observational_weights.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written tests/reference/observational_weights.json\n")
