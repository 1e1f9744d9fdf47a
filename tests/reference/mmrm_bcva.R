# Reference numbers for combotherapy's MMRM on mmrm's bcva_data (10 visits, 1000 subjects): nlme::gls fits of
#   BCVA_CHG ~ ARMCD * AVISIT + BCVA_BL * AVISIT + RACE
# with unstructured (corSymm + varIdent), compound-symmetry (corCompSymm) and AR(1) (corAR1) covariances, REML,
# pushed to convergence; LS means and TRT - CTL differences per visit from emmeans (mode = "appx-satterthwaite":
# emmeans 1.8.4 has only approximate Satterthwaite df for gls). R's mmrm is not installed (see mmrm_gls.R).
# nlme's gls REML logLik is the SAS/mmrm criterion (checked on fev_data). When emmeans cannot form its approximate
# Satterthwaite df (apVar not positive definite), df are recorded as null.
# Run from the repository root: Rscript tests/reference/mmrm_bcva.R   (writes tests/reference/mmrm_bcva.json)

suppressPackageStartupMessages({library(nlme); library(emmeans); library(jsonlite)})
emm_options(msg.interaction = FALSE)
datasets <- file.path("src", "combotherapy", "datasets")  # the public datasets, in the repository

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

b <- read.csv(file.path(datasets, "mmrm_bcva_data", "bcva_data.csv"))
d <- data.frame(id = factor(b$USUBJID), arm = factor(b$ARMCD, levels = c("CTL", "TRT")), visitf = factor(b$VISITN),
                vi = b$VISITN, y = b$BCVA_CHG, base = b$BCVA_BL,
                race = factor(b$RACE, levels = c("Asian", "Black", "White")))
f <- y ~ arm * visitf + base * visitf + race

py_name <- function(nm) {
  one <- function(p) {
    if (p == "(Intercept)") return(p)
    if (p == "base") return("baseline")
    if (startsWith(p, "visitf")) return(sprintf("visit[%s]", sub("^visitf", "", p)))
    for (fac in c("arm", "race")) if (startsWith(p, fac)) return(sprintf("%s[%s]", fac, substring(p, nchar(fac) + 1)))
    p
  }
  vapply(strsplit(nm, ":", fixed = TRUE), function(p) {
    p <- vapply(p, one, "")
    paste(c(p[!startsWith(p, "visit[")], p[startsWith(p, "visit[")]), collapse = ":")
  }, "")
}

one_fit <- function(cov) {
  args <- list(model = f, data = d, correlation = corr_of(cov, 10), method = "REML")
  if (cov == "unstructured") args$weights <- varIdent(form = ~ 1 | visitf)
  t0 <- proc.time()[["elapsed"]]
  # the unstructured fit takes minutes per gls call: fewer polishing rounds
  fit <- best_gls(args, cov, 10, rounds = if (cov == "unstructured") 2 else 6)
  secs <- proc.time()[["elapsed"]] - t0
  full <- names(which(table(d$id) == 10))[1]
  emm <- tryCatch(emmeans(fit, ~ arm | visitf, data = d, mode = "appx-satterthwaite"), error = function(e) NULL)
  df_ok <- !is.null(emm)
  if (!df_ok) emm <- emmeans(fit, ~ arm | visitf, data = d, mode = "df.error")
  ls <- as.data.frame(summary(emm))
  con <- as.data.frame(summary(contrast(emm, method = list("TRT - CTL" = c(-1, 1)))))
  list(covariance = cov, polish_rounds = attr(fit, "rounds"), seconds_gls = secs, loglik = as.numeric(logLik(fit)), df_available = df_ok,
       coef = data.frame(term = py_name(names(coef(fit))), estimate = unname(coef(fit)),
                         se = unname(sqrt(diag(vcov(fit))))),
       sigma = {S <- getVarCov(fit, individual = full); matrix(as.numeric(S), nrow(S))},
       lsmeans = data.frame(visit = as.numeric(as.character(ls$visitf)), arm = as.character(ls$arm),
                            estimate = ls$emmean, se = ls$SE, df = if (df_ok) ls$df else NA),
       contrasts = data.frame(visit = as.numeric(as.character(con$visitf)), contrast = as.character(con$contrast),
                              estimate = con$estimate, se = con$SE, df = if (df_ok) con$df else NA))
}

cases <- lapply(c("cs", "ar1", "unstructured"), one_fit)
versions <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                 emmeans = as.character(packageVersion("emmeans")), jsonlite = as.character(packageVersion("jsonlite")))
writeLines(toJSON(list(versions = versions, cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE,
                  dataframe = "columns"), "tests/reference/mmrm_bcva.json")
cat("wrote tests/reference/mmrm_bcva.json\n")
