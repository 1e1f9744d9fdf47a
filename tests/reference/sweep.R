# Differential sweep: reference numbers for ct.ancova (+ combination_test, synergy, effect_sizes), ct.mmrm,
# ct.count_model, ct.survival, ct.responders and ct.subgroups (tests/test_reference_sweep.py) on
# tests/reference/data/sweep_trial.csv (written by sweep_make_data.py): arms of 30/90/45/135 in shuffled order,
# monotone + intermittent dropout, a week-4 visit seen in 34 subjects (2 in acupuncture), a 4-level site factor whose
# levels appear as west, north, south, east (east: 4 subjects, R's alphabetical reference level), income on a
# scale of 5e4 (missing for 3 subjects; sex for 1), a 0/1 covariate (smoker), tied whole-week recovery times,
# zero-heavy analgesic days with an exposure column, no pain responder (>= 3 points) in control at week 2.
#
# Run from the repository root:  Rscript tests/reference/sweep.R   (writes tests/reference/sweep.json)
# R's mmrm (0.3.18, with TMB 1.9.23) is not in Debian; it was built from public sources (commits recorded in the
# json, as for rbmi_reference.R). Put its library first on R_LIBS (e.g. R_LIBS=<lib> Rscript ...) and set
# MMRM_COMMIT / TMB_COMMIT to the commits built.
#
# Subjects missing a covariate (income: 3, sex: 1) are excluded from every analysis that uses it (complete cases).
#   ANCOVA:  lm(value ~ arm + baseline + covariates) on complete cases at the visit; factor covariates with R's
#            levels (alphabetical), emmeans defaults (equal weights over factor levels, numeric covariates at their
#            mean, the 0/1 covariate smoker on the grid as its two values, equally weighted: cov.keep = "2");
#            pairs() with every adjustment; Dunnett = trt.vs.ctrl with adjust = "mvt" (QMC, abseps 1e-3).
#   MMRM:    mmrm::mmrm(pain ~ arm * visit + base * visit + covariates + us/cs/csh/ar1/ar1h/toep/toeph(visit |
#            subject)), REML (and ML), Satterthwaite (exact, TMB's automatic derivatives) and Kenward-Roger
#            (observed information); LS means and arm differences per visit from emmeans (weights "equal" and
#            "proportional"), pairs() with holm/sidak/tukey/mvt, type III F tests by df_md, AIC/BIC.
#   Synergy, effect sizes, subgroups: the rules of ancova.R and subgroups.R (see the functions below).
#   Counts:  MASS::glm.nb (epsilon 1e-12) and glm(poisson) of analgesic days at week 12 ~ arm + baseline count
#            [+ site + income] [+ offset(log(days_observed))]; rate ratios by hand (exp(L b), Wald z); rates from
#            emmeans(offset = 0).
#   Survival: survfit (KM, log CI, Greenwood), survdiff, coxph efron/breslow (eps 1e-12) with site + income,
#            hazard ratios by hand; RMST by hand (area under KM to tau, survRM2's variance), tau = smallest of the
#            arms' largest times.
#   Responders: glm(binomial) resp ~ arm + baseline + covariates (epsilon 1e-15), odds ratios by hand and the
#            standardised risks (g-computation, delta method) as in responders_adjusted.R.
suppressPackageStartupMessages({
  library(emmeans); library(MASS); library(survival); library(jsonlite); library(mmrm); library(metafor)
})
emm_options(msg.interaction = FALSE)

PATH <- "tests/reference/data/sweep_trial.csv"
raw <- read.csv(PATH, stringsAsFactors = FALSE, na.strings = c("", "NA"))
arm_levels <- c("control", "physio", "acupuncture", "combined")
pairs_for <- function(arms) {        # the package's contrast order
  prio <- c(combined = 0, physio = 1, acupuncture = 2, control = 99)
  ranked <- arms[order(prio[arms], match(arms, arms))]
  out <- list()
  for (i in seq_along(ranked)) for (j in seq_along(ranked)) if (j > i) out[[length(out) + 1]] <- c(ranked[i], ranked[j])
  out
}
by_hand <- function(b, V, arms, prs = pairs_for(arms)) {
  do.call(rbind, lapply(prs, function(p) {
    L <- setNames(numeric(length(b)), names(b))
    if (p[1] != arms[1]) L[paste0("arm", p[1])] <- 1
    if (p[2] != arms[1]) L[paste0("arm", p[2])] <- -1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
    data.frame(contrast = paste(p[1], "-", p[2]), log_estimate = est, se = se, estimate = exp(est),
               ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se),
               statistic = est / se, p = 2 * pnorm(-abs(est / se)))
  }))
}
# every arm against a reference arm, Holm-adjusted p (p.adjust)
vs_ref <- function(b, V, arms, ref) {
  out <- by_hand(b, V, arms, lapply(setdiff(arms, ref), function(a) c(a, ref)))
  out$p_adj <- p.adjust(out$p, "holm")
  out
}
tab <- function(x) {
  s <- as.data.frame(summary(x, infer = c(TRUE, TRUE)))
  for (nm in c("lower.CL", "asymp.LCL")) names(s)[names(s) == nm] <- "ci_low"
  for (nm in c("upper.CL", "asymp.UCL")) names(s)[names(s) == nm] <- "ci_high"
  names(s)[names(s) == "SE"] <- "se"; names(s)[names(s) %in% c("t.ratio", "z.ratio")] <- "statistic"
  names(s)[names(s) == "p.value"] <- "p"
  for (nm in names(s)) if (is.factor(s[[nm]])) s[[nm]] <- as.character(s[[nm]])
  s
}
subjects <- raw[!duplicated(raw$subject), c("subject", "arm", "age", "sex", "site", "income", "smoker",
                                            "recovery_time", "recovered")]

# --- ANCOVA ---------------------------------------------------------------------------------------------------
ancova_case <- function(visit, covariates) {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  at <- raw[raw$visit == visit, c("subject", "pain")]; names(at)[2] <- "value"
  d <- merge(merge(subjects, base), at)
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
  arms <- arm_levels[arm_levels %in% d$arm]
  d$arm <- factor(d$arm, levels = arms)
  for (c in covariates) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  f <- as.formula(paste("value ~", paste(c("arm", "baseline", covariates), collapse = " + ")))
  fit <- lm(f, data = d)
  emm <- emmeans(fit, ~ arm)
  out <- list(visit = visit, covariates = I(covariates), n = as.list(table(d$arm)), sigma = sigma(fit),
              df = fit$df.residual, coefficients = as.list(coef(fit)),
              coef_se = as.list(sqrt(diag(vcov(fit)))), lsmeans = tab(emm), contrasts = list())
  for (m in c("none", "holm", "bonferroni", "sidak", "tukey", "mvt")) {
    set.seed(1)
    out$contrasts[[m]] <- tab(pairs(emm, adjust = m))
  }
  set.seed(1)
  out$contrasts[["dunnett"]] <- tab(contrast(emm, "trt.vs.ctrl", ref = "control", adjust = "mvt"))
  out$contrasts[["holm_vs_control"]] <- tab(contrast(emm, "trt.vs.ctrl", ref = "control", adjust = "holm"))
  # the combination rule: combined - each monotherapy, one-sided (lower pain is better: side "<")
  w <- function(a, b) as.numeric(arms == a) - as.numeric(arms == b)
  cl <- list("combined - physio" = w("combined", "physio"), "combined - acupuncture" = w("combined", "acupuncture"))
  if (all(c("physio", "acupuncture") %in% arms)) out$one_sided <- tab(contrast(emm, cl, side = "<", adjust = "none"))
  out
}

# synergy: lm(value ~ P * A + baseline + covariates); main effects = emmeans contrasts of P (A) averaged over the
# other factor with equal weights. Effect sizes: Hedges' g on change (metafor::escalc "SMD"), and the adjusted
# difference / pooled within-arm baseline SD (the formulas of ancova.R).
synergy_case <- function(visit, covariates) {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  at <- raw[raw$visit == visit, c("subject", "pain")]; names(at)[2] <- "value"
  d <- merge(merge(subjects, base), at)
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
  for (c in covariates) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  d$P <- factor(d$arm %in% c("physio", "combined"), levels = c(FALSE, TRUE))
  d$A <- factor(d$arm %in% c("acupuncture", "combined"), levels = c(FALSE, TRUE))
  fit <- lm(as.formula(paste("value ~ P * A + baseline", paste(c("", covariates), collapse = " + "))), data = d)
  ci <- confint(fit)["PTRUE:ATRUE", ]
  sm <- summary(fit)$coefficients["PTRUE:ATRUE", ]
  main <- function(fac) tab(contrast(emmeans(fit, as.formula(paste("~", fac))), list(effect = c(-1, 1))))
  list(interaction = list(estimate = sm[["Estimate"]], se = sm[["Std. Error"]], statistic = sm[["t value"]],
                          p = sm[["Pr(>|t|)"]], ci_low = ci[[1]], ci_high = ci[[2]], df = fit$df.residual),
       physio = main("P"), acupuncture = main("A"))
}
effect_case <- function(visit, covariates) {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  at <- raw[raw$visit == visit, c("subject", "pain")]; names(at)[2] <- "value"
  d <- merge(merge(subjects, base), at)
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
  for (c in covariates) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  d$arm <- factor(d$arm, levels = arm_levels)
  d$change <- d$value - d$baseline
  emm <- emmeans(lm(as.formula(paste("value ~", paste(c("arm", "baseline", covariates), collapse = " + "))),
                    data = d), ~ arm)
  lapply(pairs_for(arm_levels), function(p) {
    a <- d[d$arm == p[1], ]; b <- d[d$arm == p[2], ]
    es <- escalc(measure = "SMD", m1i = mean(a$change), sd1i = sd(a$change), n1i = nrow(a),
                 m2i = mean(b$change), sd2i = sd(b$change), n2i = nrow(b))
    sd_base <- sqrt(((nrow(a) - 1) * var(a$baseline) + (nrow(b) - 1) * var(b$baseline)) / (nrow(a) + nrow(b) - 2))
    w <- as.numeric(arm_levels == p[1]) - as.numeric(arm_levels == p[2])
    ct <- tab(contrast(emm, list(w), adjust = "none"))
    list(contrast = paste(p[1], "-", p[2]), g = es$yi[1], var_g = es$vi[1],
         g_ci_low = es$yi[1] - qnorm(0.975) * sqrt(es$vi[1]), g_ci_high = es$yi[1] + qnorm(0.975) * sqrt(es$vi[1]),
         sd_baseline = sd_base, d_adj = ct$estimate / sd_base, d_adj_ci_low = ct$ci_low / sd_base,
         d_adj_ci_high = ct$ci_high / sd_base)
  })
}

# subgroups (the rule of subgroups.R): value ~ arm * level + baseline by lm on the subjects with a value of the
# variable, after dropping levels where any arm has fewer than 2 subjects; contrasts within levels from emmeans;
# the interaction F test anova(value ~ arm + level + baseline, fit). "all subjects": lm(value ~ arm + baseline).
subgroup_case <- function(visit, by, which, adjust) {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  at <- raw[raw$visit == visit, c("subject", "pain")]; names(at)[2] <- "value"
  s <- merge(merge(subjects, base), at)
  s <- s[!is.na(s$value) & !is.na(s$baseline), ]
  arms <- arm_levels[arm_levels %in% s$arm]
  s$arm <- factor(s$arm, levels = arms)
  ranked <- c("combined", "physio", "acupuncture", "control")
  ranked <- ranked[ranked %in% arms]
  prs <- if (which == "combination") lapply(intersect(c("physio", "acupuncture"), arms), function(m) c("combined", m)) else
    pairs_for(arms)
  meth <- setNames(lapply(prs, function(p) as.numeric(arms == p[1]) - as.numeric(arms == p[2])),
                   sapply(prs, function(p) paste(p[1], "-", p[2])))
  ctab <- function(emm) {
    ct <- as.data.frame(summary(contrast(emm, method = meth, adjust = adjust), infer = TRUE))
    data.frame(level = if ("level" %in% names(ct)) as.character(ct$level) else "all",
               contrast = as.character(ct$contrast), estimate = ct$estimate, se = ct$SE, df = ct$df,
               statistic = ct$t.ratio, p = ct$p.value, ci_low = ct$lower.CL, ci_high = ct$upper.CL)
  }
  out <- list(overall = ctab(emmeans(lm(value ~ arm + baseline, data = s), ~ arm)), variables = list())
  for (v in by) {
    x <- s[!is.na(s[[v]]), ]
    x$level <- factor(x[[v]])
    tab <- table(x$level, x$arm)
    small <- rownames(tab)[apply(tab < 2, 1, any)]
    x <- x[!(as.character(x$level) %in% small), ]
    x$level <- droplevels(x$level)
    fit <- lm(value ~ arm * level + baseline, data = x)
    a <- anova(lm(value ~ arm + level + baseline, data = x), fit)
    out$variables[[v]] <- list(contrasts = ctab(emmeans(fit, ~ arm | level)), skipped = I(small),
                               interaction = list(statistic = a$F[2], df_num = a$Df[2], df = a$Res.Df[2],
                                                  p = a$`Pr(>F)`[2]))
  }
  out
}

# --- MMRM -----------------------------------------------------------------------------------------------------
make_long <- function(raw) {
  long <- raw[raw$visit > 0 & !is.na(raw$pain), c("subject", "arm", "visit", "pain", "age", "sex", "site", "income",
                                                  "smoker")]
  b0 <- raw[raw$visit == 0, c("subject", "pain")]; names(b0)[2] <- "base"
  long <- merge(long, b0)
  long$arm <- factor(long$arm, levels = arm_levels)
  long$visitf <- factor(long$visit, levels = sort(unique(long$visit)))
  long$subject <- factor(long$subject)
  long$sex <- factor(long$sex); long$site <- factor(long$site)
  long[order(long$subject, long$visitf), ]
}
long <- make_long(raw)

# mmrm's default optimisers stop short of the REML maximum on this data (the unstructured log-likelihood was
# 4e-7 .. 5e-6 below the package's, LS means ~1e-5 apart, most at the thin week-4 visit), so the fit is polished
# as in rbmi_reference.R: nlminb with the exact TMB Hessian, then Newton steps to a largest |gradient| < 1e-10.
GRAD_TOL <- 1e-10
nlminb_newton <- function(par, fn, gr, hessian, control = list()) {
  opt <- stats::nlminb(par, fn, gr, hessian, control = control)
  if (opt$convergence != 0) return(opt)
  p <- opt$par
  f <- fn(p)
  for (i in seq_len(20)) {
    g <- gr(p)
    if (max(abs(g)) < GRAD_TOL) break
    p_new <- p - solve(hessian(p), as.numeric(g))
    f_new <- fn(p_new)
    if (!is.finite(f_new) || f_new > f + 1e-13 * abs(f)) break
    p <- p_new
    f <- f_new
  }
  opt$par <- p
  opt$objective <- fn(p)
  opt
}
attr(nlminb_newton, "use_hessian") <- TRUE

# vcov: "Asymptotic" (Satterthwaite), "Kenward-Roger" (mmrm's default for KR: with the second-derivative term of
# its log-Cholesky parametrisation of UN) or "Kenward-Roger-Linear" (without it: SAS's linear UN, ct.mmrm's rule)
mmrm_case <- function(cov, method, covariates = c("age", "sex", "site", "income", "smoker"), vcov = NULL, reml = TRUE,
                      weights = "equal", vars = covariates) {
  rhs <- paste(c("arm * visitf", "base * visitf", covariates, paste0(cov, "(visitf | subject)")), collapse = " + ")
  long <- long[complete.cases(long[, vars]), ]   # subjects missing a covariate are excluded
  long$subject <- droplevels(long$subject)
  fit <- mmrm(as.formula(paste("pain ~", rhs)), data = long, reml = reml,
              control = mmrm_control(method = method, vcov = vcov,
                                     optimizer_fun = list(nlminb_newton = nlminb_newton)))
  # weights "proportional": emmeans' frequencies of the covariate levels among the rows of the model frame
  emm <- emmeans(fit, ~ arm | visitf, weights = weights)
  ls <- tab(emm)
  ls$visit <- as.numeric(ls$visitf); ls$visitf <- NULL
  prs <- pairs_for(arm_levels)
  cl <- lapply(prs, function(p) as.numeric(arm_levels == p[1]) - as.numeric(arm_levels == p[2]))
  names(cl) <- sapply(prs, paste, collapse = " - ")
  cn <- tab(contrast(emm, method = cl, adjust = "none"))
  cn$visit <- as.numeric(cn$visitf); cn$visitf <- NULL
  # type III F tests (the package's SAS-style L: an arm row = its main effect + the mean of its arm:visit
  # columns over the k visits; a visit row likewise over the arms; baseline over the visits), mmrm::df_md
  type3 <- NULL
  if (cov == "us" && weights == "equal" && reml && length(covariates) == 5) {
    cnames <- names(coef(fit)); k <- nlevels(long$visitf); arms_here <- levels(long$arm)
    row <- function(set) { r <- setNames(numeric(length(cnames)), cnames); for (nm in names(set)) r[nm] <- set[[nm]]; r }
    L <- list(
      arm = do.call(rbind, lapply(arms_here[-1], function(a) {
        ia <- grep(paste0("^arm", a, ":visitf"), cnames, value = TRUE)
        row(c(setNames(list(1), paste0("arm", a)), setNames(as.list(rep(1 / k, length(ia))), ia)))
      })),
      visit = do.call(rbind, lapply(levels(long$visitf)[-1], function(v) {
        iv <- grep(paste0("^arm[a-z]+:visitf", v, "$"), cnames, value = TRUE)
        row(c(setNames(list(1), paste0("visitf", v)), setNames(as.list(rep(1 / length(arms_here), length(iv))), iv)))
      })),
      `arm:visit` = diag(length(cnames))[grep("^arm[a-z]+:visitf", cnames), , drop = FALSE],
      baseline = rbind(row(c(list(base = 1), setNames(as.list(rep(1 / k, k - 1)), grep(":base$", cnames, value = TRUE))))),
      `baseline:visit` = diag(length(cnames))[grep(":base$", cnames), , drop = FALSE],
      age = diag(length(cnames))[cnames == "age", , drop = FALSE], income = diag(length(cnames))[cnames == "income", , drop = FALSE],
      smoker = diag(length(cnames))[cnames == "smoker", , drop = FALSE], sex = diag(length(cnames))[grep("^sex", cnames), , drop = FALSE],
      site = diag(length(cnames))[grep("^site", cnames), , drop = FALSE])
    type3 <- do.call(rbind, lapply(names(L), function(nm) {
      t <- df_md(fit, L[[nm]])
      data.frame(term = nm, num_df = t$num_df, den_df = t$denom_df, statistic = t$f_stat, p = t$p_val)
    }))
  }
  adjusted <- list()
  if (cov == "us" && method == "Satterthwaite" && weights == "equal" && reml && length(covariates) == 5) {
    for (m in c("holm", "sidak", "tukey", "mvt")) {   # pairs within each visit (emmeans' "by" families)
      set.seed(1)
      a <- tab(pairs(emm, adjust = m))
      a$visit <- as.numeric(as.character(a$visitf)); a$visitf <- NULL
      adjusted[[m]] <- a
    }
  }
  list(covariance = cov, method = method, vcov = fit$vcov, reml = reml, weights = weights, adjusted = adjusted,
       type3 = type3, covariates = I(covariates),
       loglik = as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit), max_abs_gradient = max(abs(fit$tmb_object$gr(fit$theta_est))),
       converged = component(fit, "convergence") == 0, coef_names = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))), varcor = unname(VarCorr(fit)), lsmeans = ls, contrasts = cn,
       n_subjects = length(unique(long$subject)))
}

# --- counts ---------------------------------------------------------------------------------------------------
count_case <- function(covariates, exposure = NULL) {
  base <- raw[raw$visit == 0, c("subject", "analgesic_days")]; names(base)[2] <- "base"
  at <- raw[raw$visit == 12, c("subject", "analgesic_days", "days_observed")]
  d <- merge(merge(subjects, at), base)
  keep <- !is.na(d$analgesic_days) & !is.na(d$base)
  if (!is.null(exposure)) keep <- keep & !is.na(d[[exposure]])
  for (c in covariates) keep <- keep & !is.na(d[[c]])
  d <- d[keep, ]
  arms <- arm_levels[arm_levels %in% d$arm]
  d$arm <- factor(d$arm, levels = arms)
  for (c in covariates) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  d$y <- d$analgesic_days
  d$off <- if (is.null(exposure)) 0 else log(d[[exposure]])
  f <- as.formula(paste("y ~ arm + base", paste(c("", covariates), collapse = " + "), "+ offset(off)"))
  ctl <- glm.control(epsilon = 1e-12, maxit = 200)
  nb <- glm.nb(f, data = d, control = ctl)
  po <- glm(f, family = poisson, data = d, control = ctl)
  rates <- function(fit) {
    e <- summary(emmeans(fit, ~ arm, offset = 0, data = d))
    r <- summary(emmeans(fit, ~ arm, offset = 0, data = d), type = "response")
    data.frame(arm = as.character(e$arm), log_estimate = e$emmean, se = e$SE,
               estimate = r[[if ("response" %in% names(r)) "response" else "rate"]],
               ci_low = r$asymp.LCL, ci_high = r$asymp.UCL)
  }
  one <- function(fit) list(coef_names = names(coef(fit)), coef = unname(coef(fit)),
                            se = unname(sqrt(diag(vcov(fit)))), loglik = as.numeric(logLik(fit)),
                            rate_ratios = by_hand(coef(fit), vcov(fit), arms), rates = rates(fit),
                            vs_physio = vs_ref(coef(fit), vcov(fit), arms, "physio"))
  list(covariates = I(covariates), exposure = if (is.null(exposure)) NA else exposure,
       n_per_arm = as.list(table(d$arm)), zeros = mean(d$y == 0),
       # glm.nb's SE.theta is theta.ml's information at its second-to-last iterate (eps = 1.2e-4 by default);
       # theta_se_final re-runs theta.ml to 1e-14 at the final fitted means: the information at the final theta
       negbin = c(one(nb), list(theta = nb$theta, theta_se = nb$SE.theta,
                                theta_se_final = attr(theta.ml(d$y, fitted(nb), limit = 100, eps = 1e-14), "SE"))),
       poisson = one(po))
}

# --- survival -------------------------------------------------------------------------------------------------
surv_case <- function(covariates, strata = NULL, tau = NULL) {
  s <- subjects
  s <- s[complete.cases(s[, c(covariates, strata)]), ]
  s$arm <- factor(s$arm, levels = arm_levels)
  for (c in covariates) if (is.character(s[[c]])) s[[c]] <- factor(s[[c]])
  s$time <- s$recovery_time; s$event <- s$recovered
  km <- survfit(Surv(time, event) ~ arm, data = s)
  tb <- summary(km)$table
  kmt <- data.frame(arm = sub("arm=", "", rownames(tb)), n = unname(tb[, "records"]), events = unname(tb[, "events"]),
                    median = unname(tb[, "median"]), median_low = unname(tb[, "0.95LCL"]),
                    median_high = unname(tb[, "0.95UCL"]))
  sk <- summary(km, censored = FALSE)
  curve <- data.frame(arm = sub("arm=", "", as.character(sk$strata)), time = sk$time, n_risk = sk$n.risk,
                      n_event = sk$n.event, surv = sk$surv, se = sk$std.err, ci_low = sk$lower, ci_high = sk$upper)
  lr_rhs <- paste(c("arm", if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  sd <- survdiff(as.formula(paste("Surv(time, event) ~", lr_rhs)), data = s)
  # RMST by hand: area under KM to tau, variance sum A_j^2 d_j / (n_j (n_j - d_j))
  if (is.null(tau)) tau <- min(tapply(s$time, s$arm, max))
  rmst <- do.call(rbind, lapply(arm_levels, function(a) {
    f <- survfit(Surv(time, event) ~ 1, data = s[s$arm == a, ])
    tt <- f$time; keep <- tt <= tau
    t_j <- tt[keep]; S <- f$surv[keep]; d_j <- f$n.event[keep]; n_j <- f$n.risk[keep]
    grid <- c(0, t_j, tau); Sg <- c(1, S)
    area <- sum(diff(grid) * Sg)
    A <- sapply(seq_along(t_j), function(j) sum(diff(c(t_j[j:length(t_j)], tau)) * S[j:length(t_j)]))
    ok <- d_j > 0 & n_j > d_j
    data.frame(arm = a, rmst = area, se = sqrt(sum((A^2 * d_j / (n_j * (n_j - d_j)))[ok])),
               check = summary(f, rmean = tau)$table[["rmean"]])
  }))
  rhs <- paste(c("arm", covariates, if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  cox <- list()
  for (ties in c("efron", "breslow")) {
    cf <- coxph(as.formula(paste("Surv(time, event) ~", rhs)), data = s, ties = ties,
                control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-14))
    cox[[ties]] <- list(coef_names = names(coef(cf)), coef = unname(coef(cf)), se = unname(sqrt(diag(vcov(cf)))),
                        loglik = cf$loglik, hazard_ratios = by_hand(coef(cf), vcov(cf), arm_levels),
                        vs_physio = vs_ref(coef(cf), vcov(cf), arm_levels, "physio"))
    if (is.null(strata)) {
      zph <- cox.zph(cf, transform = "km", terms = FALSE)
      cox[[ties]]$zph <- data.frame(term = rownames(zph$table), chisq = unname(zph$table[, "chisq"]),
                                    df = unname(zph$table[, "df"]), p = unname(zph$table[, "p"]))
    }
  }
  df <- if (is.null(strata)) length(sd$n) - 1 else nrow(sd$obs) - 1
  list(covariates = I(covariates), strata = if (is.null(strata)) NA else strata, km = kmt, curve = curve,
       logrank = list(statistic = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE)),
       tau = tau, rmst = rmst, cox = cox)
}

# --- responders -----------------------------------------------------------------------------------------------
TIE <- 1e-9
resp_case <- function(visit, threshold, relative, covariates, missing = "non-responder") {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  post <- raw[raw$visit == visit, c("subject", "pain")]; names(post)[2] <- "value"
  s <- merge(merge(subjects[, c("subject", "arm", covariates)], base, all.x = TRUE), post, all.x = TRUE)
  s <- s[complete.cases(s[, covariates]), ]
  if (missing == "exclude") s <- s[!is.na(s$value), ]
  impr <- -(s$value - s$baseline)
  cut <- if (relative) threshold * s$baseline else rep(threshold, nrow(s))
  reached <- impr >= cut - TIE * pmax(1, abs(cut))
  s$resp <- ifelse(is.na(s$value), 0, as.numeric(reached))
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
    data.frame(contrast = paste(pr[1], "-", pr[2]), or_log = lor, or_se = se_or, or_p = 2 * pnorm(-abs(lor / se_or)),
               rd = rd, rd_se = se_rd, rd_low = rd - z * se_rd, rd_high = rd + z * se_rd,
               rr = exp(lrr), rr_log = lrr, rr_se = se_rr, rr_low = exp(lrr - z * se_rr), rr_high = exp(lrr + z * se_rr))
  }))
  list(visit = visit, threshold = threshold, relative = relative, covariates = I(covariates),
       n_per_arm = as.list(table(s$arm)), responders = as.list(tapply(s$resp, s$arm, sum)),
       coef_names = names(b), coef = unname(b), se = unname(sqrt(diag(V))),
       standardised = standardised, contrasts = contrasts)
}

# unadjusted, with an arm without responders (control, week 2, >= 3 points): Wilson per arm, Newcombe's hybrid
# score interval (method 10) for the difference, prop.test's score p, Katz log interval for the ratio with 0.5
# added to every cell of a table with one zero count (the formulas of responders.R)
zero_case <- function(visit, threshold) {
  base <- raw[raw$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
  post <- raw[raw$visit == visit, c("subject", "pain")]; names(post)[2] <- "value"
  s <- merge(merge(subjects[, c("subject", "arm")], base, all.x = TRUE), post, all.x = TRUE)
  reached <- -(s$value - s$baseline) >= threshold - TIE * max(1, threshold)
  s$resp <- ifelse(is.na(s$value), 0, as.numeric(reached))
  z <- qnorm(0.975)
  wil <- function(x, n) { c0 <- x + z^2 / 2; h <- z * sqrt(x * (n - x) / n + z^2 / 4); c((c0 - h), (c0 + h)) / (n + z^2) }
  n <- as.numeric(table(factor(s$arm, levels = arm_levels)))
  x <- as.numeric(tapply(s$resp, factor(s$arm, levels = arm_levels), sum))
  arms <- data.frame(arm = arm_levels, n = n, responders = x, proportion = x / n,
                     ci_low = sapply(seq_along(n), function(i) wil(x[i], n[i])[1]),
                     ci_high = sapply(seq_along(n), function(i) wil(x[i], n[i])[2]))
  con <- do.call(rbind, lapply(pairs_for(arm_levels), function(p) {
    i <- match(p[1], arm_levels); j <- match(p[2], arm_levels)
    p1 <- x[i] / n[i]; p2 <- x[j] / n[j]; w1 <- wil(x[i], n[i]); w2 <- wil(x[j], n[j])
    cc <- if ((x[i] == 0) != (x[j] == 0)) 0.5 else 0
    a1 <- x[i] + cc; m1 <- n[i] + 2 * cc; a2 <- x[j] + cc; m2 <- n[j] + 2 * cc
    lrr <- log((a1 / m1) / (a2 / m2)); se_rr <- sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    data.frame(contrast = paste(p[1], "-", p[2]), rd = p1 - p2,
               rd_low = p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
               rd_high = p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2),
               rd_p = prop.test(c(x[i], x[j]), c(n[i], n[j]), correct = FALSE)$p.value,
               rr = exp(lrr), rr_se = se_rr, rr_low = exp(lrr - z * se_rr), rr_high = exp(lrr + z * se_rr))
  }))
  list(visit = visit, threshold = threshold, arms = arms, contrasts = con)
}

covs <- c("age", "sex", "site", "income", "smoker")
out <- list(
  meta = list(generated_by = "tests/reference/sweep.R", R = R.version.string,
              emmeans = as.character(packageVersion("emmeans")), mvtnorm = as.character(packageVersion("mvtnorm")),
              MASS = as.character(packageVersion("MASS")), survival = as.character(packageVersion("survival")),
              mmrm = as.character(packageVersion("mmrm")), TMB = as.character(packageVersion("TMB")),
              mmrm_commit = Sys.getenv("MMRM_COMMIT"), TMB_commit = Sys.getenv("TMB_COMMIT"),
              metafor = as.character(packageVersion("metafor")),
              jsonlite = as.character(packageVersion("jsonlite")), md5 = unname(tools::md5sum(PATH))),
  ancova = list(w12_cov = ancova_case(12, covs), w2_site = ancova_case(2, c("site")),
                w4_few = ancova_case(4, character()), w8_income = ancova_case(8, c("income", "sex")),
                # 34 subjects, 11 coefficients; no "east" subject measured at week 4 (the level is dropped)
                w4_all = ancova_case(4, covs)),
  synergy = list(w12_cov = synergy_case(12, covs), w8_none = synergy_case(8, character())),
  effects = list(w12_cov = effect_case(12, covs)),
  subgroups = list(combination = subgroup_case(12, c("site", "sex", "smoker"), "combination", "none"),
                   all_holm = subgroup_case(8, c("site", "sex"), "all", "holm")),
  mmrm = list(us_sat = mmrm_case("us", "Satterthwaite"), us_kr = mmrm_case("us", "Kenward-Roger", vcov = "Kenward-Roger-Linear"),
              us_kr_log_cholesky = mmrm_case("us", "Kenward-Roger", vcov = "Kenward-Roger"),
              cs_sat = mmrm_case("cs", "Satterthwaite"), ar1h_sat = mmrm_case("ar1h", "Satterthwaite"),
              us_nocov = mmrm_case("us", "Satterthwaite", character()),
              us_ml = mmrm_case("us", "Satterthwaite", reml = FALSE),
              us_prop = mmrm_case("us", "Satterthwaite", weights = "proportional"),
              ar1_sat = mmrm_case("ar1", "Satterthwaite"), csh_sat = mmrm_case("csh", "Satterthwaite"),
              toeph_sat = mmrm_case("toeph", "Satterthwaite"), toep_sat = mmrm_case("toep", "Satterthwaite"),
              # formula terms (the package's covariates=["age*smoker", "C(site)"]), both weightings
              terms_equal = mmrm_case("us", "Satterthwaite", c("age * smoker", "site"), vars = c("age", "smoker", "site")),
              terms_prop = mmrm_case("us", "Satterthwaite", c("age * smoker", "site"), vars = c("age", "smoker", "site"),
                                     weights = "proportional")),
  counts = list(plain = count_case(character()), adjusted = count_case(c("site", "income", "smoker")),
                exposure = count_case(c("sex", "site"), "days_observed")),
  survival = list(plain = surv_case(character()), adjusted = surv_case(c("site", "income")),
                  strata = surv_case(c("site", "income"), strata = "sex"), horizon = surv_case(character(), tau = 10)),
  responders = list(w12_rel30 = resp_case(12, 0.3, TRUE, covs), w8_abs2 = resp_case(8, 2, FALSE, c("site")),
                    w2_zero_control = zero_case(2, 3),
                    w12_abs2_exclude = resp_case(12, 2, FALSE, c("site", "smoker"), missing = "exclude"))
)
# three arms (control 30, physio 90, combined 135: acupuncture's subjects removed): the case functions read the
# globals raw, subjects, long and arm_levels
arm_levels <- c("control", "physio", "combined")
raw <- raw[raw$arm %in% arm_levels, ]
subjects <- subjects[subjects$arm %in% arm_levels, ]
long <- make_long(raw)
out$three_arms <- list(ancova = ancova_case(12, covs), mmrm = mmrm_case("us", "Satterthwaite"),
                       counts = count_case(c("site", "income", "smoker")), survival = surv_case(c("site", "income")),
                       responders = resp_case(12, 0.3, TRUE, covs))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", matrix = "rowmajor",
                  dataframe = "rows"), "tests/reference/sweep.json")
cat("wrote tests/reference/sweep.json\n")
