# Reference numbers for combotherapy's MMRM (tests/test_mmrm_reference.py).
#
# Run from the repository root:  Rscript tests/reference/mmrm_gls.R   (writes tests/reference/mmrm_gls.json)
#
# R's mmrm package is not installed here, so the MMRM is fitted with nlme::gls:
#   unstructured  = corSymm(~ vi | id) + varIdent(~ 1 | visit)
#   cs            = corCompSymm(~ vi | id)                 cs_het       = the same + varIdent
#   ar1           = corAR1(~ vi | id)                      ar1_het      = the same + varIdent
#   toeplitz      = corARMA(~ vi | id, p = k - 1)           toeplitz_het = the same + varIdent
# (an AR(k-1) correlation on k equally spaced positions is a general stationary, i.e. Toeplitz, correlation),
# with vi the visit's position 1..k, pushed to convergence with glsControl(opt = "optim", tolerance = 1e-14, ...).
# LS means and contrasts come from emmeans with mode = "appx-satterthwaite" (emmeans 1.8.4 has no exact
# Satterthwaite for gls; its df are approximate). The exact Satterthwaite df are computed here by hand for the
# unstructured fits: own REML criterion, its Hessian and the gradient of (X'V^-1X)^-1 by central finite
# differences with Richardson extrapolation.
# Kenward-Roger: pbkrtest through emmeans (lmer.df = "kenward-roger") on the random-intercept model, which is the
# compound-symmetry MMRM; lmerTest's Satterthwaite df (lmer.df = "satterthwaite") on the same model.
# nlme's gls REML log-likelihood is the SAS/mmrm criterion (checked: -1693.2249 on fev_data, as SAS and mmrm).
# gls does not reach the REML maximum reliably (see best_gls below), so every fit is polished by restarts.

suppressPackageStartupMessages({
  library(nlme); library(emmeans); library(jsonlite); library(lme4); library(pbkrtest); library(lmerTest)
})
emm_options(msg.interaction = FALSE, msg.nesting = FALSE)

datasets <- file.path("src", "combotherapy", "datasets")  # the public datasets, in the repository

# --- data -------------------------------------------------------------------------------------------------------
fev <- read.csv(file.path(datasets, "mmrm_fev_data", "fev_data.csv"))
fev <- data.frame(id = fev$USUBJID, arm = factor(fev$ARMCD, levels = c("PBO", "TRT")),
                  visitf = factor(fev$VISITN), vi = fev$VISITN, y = fev$FEV1,
                  race = factor(fev$RACE, levels = c("Asian", "Black or African American", "White")),
                  sex = factor(fev$SEX, levels = c("Male", "Female")))
fev <- fev[!is.na(fev$y), ]

sim_raw <- read.csv("tests/reference/data/mmrm_sim.csv")
base <- sim_raw[sim_raw$visit == 0, c("subject", "pain")]
names(base)[2] <- "base"
sim <- merge(sim_raw[sim_raw$visit > 0, ], base, by = "subject")
sim <- sim[!is.na(sim$pain) & !is.na(sim$base), ]
sim <- sim[order(sim$subject, sim$visit), ]
sim <- data.frame(id = sim$subject, arm = factor(sim$arm, levels = c("control", "physio", "acupuncture", "combined")),
                  visitf = factor(sim$visit), vi = match(sim$visit, sort(unique(sim$visit))), y = sim$pain,
                  base = sim$base, age = sim$age, sex = factor(sim$sex), site = factor(sim$site))

# --- helpers ----------------------------------------------------------------------------------------------------
het <- function(cov) cov %in% c("unstructured", "cs_het", "ar1_het", "toeplitz_het")

# gls stops short of the REML maximum (its estimates were ~1e-4 away from the optimum, both with optim and
# nlminb), so each fit is the best of both optimisers, then refitted from its own estimates until the
# log-likelihood stops improving (by 1e-10); the rounds used are recorded.
ctrls <- list(optim = glsControl(opt = "optim", tolerance = 1e-14, maxIter = 500, msMaxIter = 500),
              nlminb = glsControl(opt = "nlminb", tolerance = 1e-14, maxIter = 500, msMaxIter = 500, msTol = 1e-14))
corr_of <- function(cov, k, value = NULL) {
  switch(sub("_het$", "", cov),
         unstructured = if (is.null(value)) corSymm(form = ~ vi | id) else corSymm(value, form = ~ vi | id),
         cs = if (is.null(value)) corCompSymm(form = ~ vi | id) else corCompSymm(value, form = ~ vi | id),
         ar1 = if (is.null(value)) corAR1(form = ~ vi | id) else corAR1(value, form = ~ vi | id),
         toeplitz = if (is.null(value)) corARMA(form = ~ vi | id, p = k - 1, q = 0)
                    else corARMA(value, form = ~ vi | id, p = k - 1, q = 0))
}
best_gls <- function(args, cov, k, rounds = 6, optimizers = c("optim", "nlminb")) {
  try_fit <- function(a, opt) { a$control <- ctrls[[opt]]; tryCatch(do.call(gls, a), error = function(e) NULL) }
  fits <- Filter(Negate(is.null), lapply(optimizers, function(o) try_fit(args, o)))
  best <- fits[[which.max(vapply(fits, function(f) as.numeric(logLik(f)), 0))]]
  used <- 0
  for (round in seq_len(rounds)) {
    prev <- as.numeric(logLik(best))
    a <- args
    a$correlation <- corr_of(cov, k, coef(best$modelStruct$corStruct, unconstrained = FALSE))
    if (!is.null(best$modelStruct$varStruct))
      a$weights <- varIdent(value = coef(best$modelStruct$varStruct, unconstrained = FALSE), form = ~ 1 | visitf)
    for (opt in optimizers) {
      f <- try_fit(a, opt)
      if (!is.null(f) && as.numeric(logLik(f)) > as.numeric(logLik(best))) best <- f
    }
    used <- round
    if (as.numeric(logLik(best)) - prev < 1e-10) break
  }
  attr(best, "rounds") <- used
  best
}

fit_gls <- function(formula, data, cov, reml = TRUE) {
  k <- nlevels(data$visitf)
  args <- list(model = formula, data = data, correlation = corr_of(cov, k), method = if (reml) "REML" else "ML")
  if (het(cov)) args$weights <- varIdent(form = ~ 1 | visitf)
  best_gls(args, cov, k)
}

# coefficient names in the package's spelling: arm[b], visit[4], arm[b]:visit[4], baseline, baseline:visit[4], sex[M]
py_name <- function(nm, factors) {
  one <- function(piece) {
    if (piece == "(Intercept)") return(piece)
    if (piece == "base") return("baseline")
    if (startsWith(piece, "visitf")) return(sprintf("visit[%s]", sub("^visitf", "", piece)))
    for (f in factors) if (startsWith(piece, f)) return(sprintf("%s[%s]", f, substring(piece, nchar(f) + 1)))
    piece
  }
  vapply(strsplit(nm, ":", fixed = TRUE), function(p) {
    p <- vapply(p, one, "")
    paste(c(p[!startsWith(p, "visit[")], p[startsWith(p, "visit[")]), collapse = ":")
  }, "")
}

pairs_of <- function(arms) {   # combotherapy.arms.contrast_pairs order
  pr <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(ifelse(arms %in% names(pr), pr[arms], 50), seq_along(arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (i < j) {
    v <- setNames(rep(0, length(arms)), arms); v[ranked[i]] <- 1; v[ranked[j]] <- -1
    out[[paste(ranked[i], "-", ranked[j])]] <- unname(v)
  }
  out
}

emm_tables <- function(fit, data, weights = "equal", ...) {
  if (identical(weights, "proportional")) {
    # emmeans' "proportional" counts rows weighted by gls's variance weights (varIdent), not frequencies; pass the
    # observation frequencies of the sex x site combinations explicitly (grid order: sex varies fastest)
    weights <- as.vector(table(data$sex, data$site))
  }
  emm <- emmeans(fit, ~ arm | visitf, data = data, weights = weights, ...)
  ls <- as.data.frame(summary(emm))
  con <- as.data.frame(summary(contrast(emm, method = pairs_of(levels(data$arm)), adjust = "none")))
  list(lsmeans = data.frame(visit = as.numeric(as.character(ls$visitf)), arm = as.character(ls$arm),
                            estimate = ls$emmean, se = ls$SE, df = ls$df),
       contrasts = data.frame(visit = as.numeric(as.character(con$visitf)), contrast = as.character(con$contrast),
                              estimate = con$estimate, se = con$SE, df = con$df))
}

sigma_of <- function(fit, data) {
  k <- nlevels(data$visitf)
  full <- names(which(table(data$id) == k))[1]
  S <- getVarCov(fit, individual = full)
  matrix(as.numeric(S), nrow(S))
}

gls_case <- function(data, formula, factors, cov, reml = TRUE, weights = "equal") {
  fit <- fit_gls(formula, data, cov, reml)
  out <- list(covariance = cov, method = if (reml) "reml" else "ml", weights = weights,
              polish_rounds = attr(fit, "rounds"),
              loglik = as.numeric(logLik(fit)),
              coef = data.frame(term = py_name(names(coef(fit)), factors), estimate = unname(coef(fit)),
                                se = unname(sqrt(diag(vcov(fit))))),
              sigma = sigma_of(fit, data), n_obs = nrow(data), n_subjects = length(unique(data$id)))
  c(out, emm_tables(fit, data, weights = weights, mode = "appx-satterthwaite"))
}

# --- exact Satterthwaite by hand (unstructured, REML) ------------------------------------------------------------
exact_satterthwaite <- function(formula, data, Sigma, L) {
  X <- model.matrix(formula, data); y <- data$y
  k <- nlevels(data$visitf); ids <- split(seq_len(nrow(data)), data$id)
  tri <- which(lower.tri(diag(k), diag = TRUE))
  to_sigma <- function(phi) { S <- matrix(0, k, k); S[tri] <- phi; S + t(S) - diag(diag(S)) }
  parts <- function(phi) {
    S <- to_sigma(phi); H <- 0; u <- 0; yy <- 0; ld <- 0
    for (ix in ids) {               # a loop over subjects is fine in a reference script
      v <- data$vi[ix]; Vi <- solve(S[v, v, drop = FALSE]); Xi <- X[ix, , drop = FALSE]
      H <- H + t(Xi) %*% Vi %*% Xi; u <- u + t(Xi) %*% Vi %*% y[ix]; yy <- yy + t(y[ix]) %*% Vi %*% y[ix]
      ld <- ld + as.numeric(determinant(S[v, v, drop = FALSE])$modulus)
    }
    list(H = H, u = u, yy = yy, ld = ld)
  }
  reml <- function(phi) {
    p <- parts(phi); b <- solve(p$H, p$u)
    p$ld + as.numeric(determinant(p$H)$modulus) + as.numeric(p$yy - t(p$u) %*% b)
  }
  cov_beta <- function(phi) solve(parts(phi)$H)
  phi <- Sigma[tri]; m <- length(phi); h <- 1e-3 * pmax(abs(phi), 1)
  d2 <- function(i, j, s) {
    ei <- replace(numeric(m), i, s * h[i]); ej <- replace(numeric(m), j, s * h[j])
    (reml(phi + ei + ej) - reml(phi + ei - ej) - reml(phi - ei + ej) + reml(phi - ei - ej)) / (4 * s^2 * h[i] * h[j])
  }
  Hs <- matrix(0, m, m)
  for (i in seq_len(m)) for (j in i:m) {
    Hs[i, j] <- Hs[j, i] <- (4 * d2(i, j, 0.5) - d2(i, j, 1)) / 3     # Richardson extrapolation
  }
  A <- 2 * solve(Hs)
  C <- cov_beta(phi)
  dC <- lapply(seq_len(m), function(i) {
    e <- replace(numeric(m), i, h[i])
    g1 <- (cov_beta(phi + e) - cov_beta(phi - e)) / (2 * h[i])
    g2 <- (cov_beta(phi + e / 2) - cov_beta(phi - e / 2)) / h[i]
    (4 * g2 - g1) / 3
  })
  apply(L, 1, function(l) {
    g <- vapply(dC, function(D) as.numeric(t(l) %*% D %*% l), 0)
    2 * as.numeric(t(l) %*% C %*% l)^2 / as.numeric(t(g) %*% A %*% g)
  })
}

# LS-mean difference rows (first - second arm, each visit) of the gls fit's coefficient vector
contrast_rows <- function(fit, data) {
  emm <- emmeans(fit, ~ arm | visitf, data = data, mode = "df.error")
  con <- contrast(emm, method = pairs_of(levels(data$arm)))
  lf <- con@linfct
  g <- con@grid
  list(L = lf, visit = as.numeric(as.character(g$visitf)), contrast = as.character(g$contrast))
}

# --- fits -------------------------------------------------------------------------------------------------------
f_fev <- y ~ race + sex + arm * visitf
fev_cases <- lapply(c("unstructured", "cs", "ar1", "toeplitz", "cs_het", "ar1_het", "toeplitz_het"),
                    function(cv) gls_case(fev, f_fev, c("arm", "race", "sex"), cv))
fev_cases[[length(fev_cases) + 1]] <- gls_case(fev, f_fev, c("arm", "race", "sex"), "unstructured", reml = FALSE)

f_sim <- y ~ arm * visitf + base * visitf + age + sex + site
sim_cases <- lapply(c("unstructured", "cs", "ar1", "toeplitz", "cs_het", "ar1_het", "toeplitz_het"),
                    function(cv) gls_case(sim, f_sim, c("arm", "sex", "site"), cv))
sim_cases[[length(sim_cases) + 1]] <- gls_case(sim, f_sim, c("arm", "sex", "site"), "unstructured",
                                               weights = "proportional")
sim_cases[[length(sim_cases) + 1]] <- gls_case(sim, f_sim, c("arm", "sex", "site"), "unstructured", reml = FALSE)

exact <- list()
for (nm in c("fev", "sim")) {
  dat <- if (nm == "fev") fev else sim
  f <- if (nm == "fev") f_fev else f_sim
  fit <- fit_gls(f, dat, "unstructured")
  rows <- contrast_rows(fit, dat)
  exact[[nm]] <- data.frame(visit = rows$visit, contrast = rows$contrast,
                            df = exact_satterthwaite(f, dat, sigma_of(fit, dat), rows$L))
}

# Kenward-Roger (pbkrtest) and Satterthwaite (lmerTest) on the random-intercept = compound-symmetry model
lfit <- lmerTest::lmer(y ~ arm * visitf + base * visitf + age + sex + site + (1 | id), data = sim, REML = TRUE)
vc <- as.data.frame(VarCorr(lfit))
kr <- emm_tables(lfit, sim, lmer.df = "kenward-roger")
sat <- emm_tables(lfit, sim, lmer.df = "satterthwaite")
lmer_ref <- list(loglik = as.numeric(logLik(lfit)), var_subject = vc$vcov[1], var_residual = vc$vcov[2],
                 kr = kr, satterthwaite = sat,
                 coef = data.frame(term = py_name(names(fixef(lfit)), c("arm", "sex", "site")),
                                   estimate = unname(fixef(lfit)),
                                   se_kr = unname(sqrt(diag(as.matrix(pbkrtest::vcovAdj(lfit)))))))

versions <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                 emmeans = as.character(packageVersion("emmeans")), lme4 = as.character(packageVersion("lme4")),
                 pbkrtest = as.character(packageVersion("pbkrtest")), lmerTest = as.character(packageVersion("lmerTest")),
                 jsonlite = as.character(packageVersion("jsonlite")))
out <- list(versions = versions, data_md5 = unname(tools::md5sum("tests/reference/data/mmrm_sim.csv")),
            fev = fev_cases, sim = sim_cases, exact_satterthwaite = exact, lmer_cs = lmer_ref)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, dataframe = "columns"),
           "tests/reference/mmrm_gls.json")
cat("wrote tests/reference/mmrm_gls.json\n")
