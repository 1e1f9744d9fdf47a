# Reference numbers for ct.ancova, ct.combination_test, ct.synergy and ct.effect_sizes.
# Run from the repository root:  Rscript tests/reference/ancova.R  (writes tests/reference/ancova.json)
#
# ANCOVA: lm(value ~ arm + baseline + covariates) on complete cases at the visit; LS means and contrasts
# from emmeans (default equal weights over factor levels, numeric covariates at their means) with every
# adjustment method; "dunnett" = emmeans adjust = "mvt" on trt.vs.ctrl contrasts (the exact Dunnett test;
# multcomp is not available). mvt p-values are randomised quasi-Monte Carlo (mvtnorm, abseps 1e-3): compare
# with an absolute tolerance of about 1e-3.
# Synergy: lm(value ~ P * A + baseline) for the 2x2 factorial (P = physiotherapy given, A = acupuncture
# given); main effects = emmeans contrasts of P (A) averaged over the other factor with equal weights.
# Log scale: lm(log(value) ~ arm + log(baseline) + ...), emmeans on the log scale.
# Effect sizes: Hedges' g on change from baseline with metafor::escalc(measure = "SMD") (exact bias
# correction, large-sample variance); adjusted difference / pooled within-arm baseline SD of the two arms.
suppressPackageStartupMessages({library(emmeans); library(jsonlite); library(metafor)})
emm_options(msg.interaction = FALSE)

ARMS <- c("control", "physio", "acupuncture", "combined")

# one row per subject: value at `visit`, baseline, subject-level covariates
at_visit <- function(long, outcome, visit) {
  base <- long[long$visit == 0, c("subject", outcome)]; names(base)[2] <- "baseline"
  fu <- long[long$visit == visit, c("subject", "arm", setdiff(names(long), c("subject", "arm", "visit")))]
  names(fu)[names(fu) == outcome] <- "value"
  d <- merge(fu, base, by = "subject")
  d$arm <- factor(d$arm, levels = intersect(ARMS, unique(d$arm)))
  d
}

tab <- function(x) {
  s <- as.data.frame(summary(x, infer = c(TRUE, TRUE)))
  names(s)[names(s) == "lower.CL"] <- "ci_low"; names(s)[names(s) == "upper.CL"] <- "ci_high"
  names(s)[names(s) == "asymp.LCL"] <- "ci_low"; names(s)[names(s) == "asymp.UCL"] <- "ci_high"
  names(s)[names(s) == "SE"] <- "se"; names(s)[names(s) == "t.ratio"] <- "statistic"
  names(s)[names(s) == "p.value"] <- "p"
  s
}

ancova_ref <- function(d, covariates, log_scale = FALSE, one_sided = FALSE) {
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
  if (log_scale) { d$value <- log(d$value); d$baseline <- log(d$baseline) }
  f <- as.formula(paste("value ~", paste(c("arm", "baseline", covariates), collapse = " + ")))
  fit <- lm(f, data = d)
  emm <- emmeans(fit, ~ arm)
  out <- list(n = as.list(table(d$arm)), sigma = sigma(fit), df = fit$df.residual,
              coefficients = as.list(coef(fit)), lsmeans = tab(emm))
  out$contrasts <- list()
  for (m in c("none", "holm", "bonferroni", "sidak", "tukey", "mvt")) {
    set.seed(1)
    out$contrasts[[m]] <- tab(pairs(emm, adjust = m))
  }
  if ("control" %in% levels(d$arm)) {
    set.seed(1)
    out$contrasts[["dunnett"]] <- tab(contrast(emm, "trt.vs.ctrl", ref = "control", adjust = "mvt"))
    out$contrasts[["holm_vs_control"]] <- tab(contrast(emm, "trt.vs.ctrl", ref = "control", adjust = "holm"))
  }
  # the combination rule: one-sided combined - each monotherapy (lower is better for pain: side "<")
  lv <- levels(d$arm)
  w <- function(a, b) { v <- numeric(length(lv)); v[lv == a] <- 1; v[lv == b] <- -1; v }
  out$one_sided <- tab(contrast(emm, list("combined - physio" = w("combined", "physio"),
                                          "combined - acupuncture" = w("combined", "acupuncture")),
                                side = "<", adjust = "none"))
  set.seed(1)
  out$one_sided_mvt <- tab(contrast(emm, list("combined - physio" = w("combined", "physio"),
                                              "combined - acupuncture" = w("combined", "acupuncture")),
                                    side = "<", adjust = "mvt"))
  out
}

synergy_ref <- function(d, covariates = character()) {
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
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

effect_ref <- function(d, covariates, pairs) {
  d <- d[complete.cases(d[, c("value", "baseline", covariates)]), ]
  d$change <- d$value - d$baseline
  f <- as.formula(paste("value ~", paste(c("arm", "baseline", covariates), collapse = " + ")))
  emm <- emmeans(lm(f, data = d), ~ arm)
  res <- lapply(pairs, function(p) {
    a <- d[d$arm == p[1], ]; b <- d[d$arm == p[2], ]
    es <- escalc(measure = "SMD", m1i = mean(a$change), sd1i = sd(a$change), n1i = nrow(a),
                 m2i = mean(b$change), sd2i = sd(b$change), n2i = nrow(b))
    sd_base <- sqrt(((nrow(a) - 1) * var(a$baseline) + (nrow(b) - 1) * var(b$baseline)) / (nrow(a) + nrow(b) - 2))
    lv <- levels(d$arm); w <- numeric(length(lv)); w[lv == p[1]] <- 1; w[lv == p[2]] <- -1
    ct <- tab(contrast(emm, list(w), adjust = "none"))
    list(contrast = paste(p[1], "-", p[2]), g = es$yi[1], var_g = es$vi[1],
         g_ci_low = es$yi[1] - qnorm(0.975) * sqrt(es$vi[1]), g_ci_high = es$yi[1] + qnorm(0.975) * sqrt(es$vi[1]),
         sd_baseline = sd_base, d_adj = ct$estimate / sd_base, d_adj_ci_low = ct$ci_low / sd_base,
         d_adj_ci_high = ct$ci_high / sd_base)
  })
  res
}

fixture <- read.csv("tests/reference/data/ancova_fixture.csv", stringsAsFactors = FALSE)
three <- read.csv("data/sample/three_arm.csv", stringsAsFactors = FALSE)
fact <- read.csv("data/sample/factorial.csv", stringsAsFactors = FALSE)
vick <- read.csv("src/combotherapy/datasets/vickers_acupuncture_headache/acupuncture.csv", fileEncoding = "UTF-8-BOM")

fx_pain <- at_visit(fixture, "pain", 12)
fx_crp <- at_visit(fixture, "crp", 12)
th_pain <- at_visit(three, "pain", 12)
fa_pain <- at_visit(fact, "pain", 12)
fa_crp <- at_visit(fact, "crp", 12)

# Vickers et al. BMJ 2004: headache score at 12 months, ANCOVA on baseline + minimisation covariates
vick$arm <- factor(ifelse(vick$group == 1, "acupuncture", "control"), levels = c("control", "acupuncture"))
vfit <- lm(pk5 ~ arm + pk1 + age + sex + migraine + chronicity, data = vick)
vemm <- emmeans(vfit, ~ arm)

pairs3 <- list(c("combined", "physio"), c("combined", "acupuncture"), c("physio", "acupuncture"))
pairs4 <- c(pairs3, list(c("combined", "control"), c("physio", "control"), c("acupuncture", "control")))

out <- list(
  meta = list(R = R.version.string, emmeans = as.character(packageVersion("emmeans")),
              mvtnorm = as.character(packageVersion("mvtnorm")), metafor = as.character(packageVersion("metafor")),
              jsonlite = as.character(packageVersion("jsonlite")), date = as.character(Sys.Date())),
  fixture_pain = ancova_ref(fx_pain, c("age", "sex", "site")),
  fixture_pain_nocov = ancova_ref(fx_pain, character()),
  fixture_crp_log = ancova_ref(fx_crp, c("site"), log_scale = TRUE),
  fixture_synergy = synergy_ref(fx_pain),
  fixture_effects = effect_ref(fx_pain, c("age", "sex", "site"), pairs4),
  three_arm_pain = ancova_ref(th_pain, c("age", "sex", "site", "pain_duration")),
  three_arm_effects = effect_ref(th_pain, character(), pairs3),
  factorial_pain = ancova_ref(fa_pain, c("age", "sex", "site")),
  factorial_synergy = synergy_ref(fa_pain),
  factorial_synergy_cov = synergy_ref(fa_pain, c("age", "site")),
  factorial_crp_log = ancova_ref(fa_crp, character(), log_scale = TRUE),
  vickers = list(n = as.list(table(model.frame(vfit)$arm)), lsmeans = tab(vemm),
                 contrast = tab(contrast(vemm, list("acupuncture - control" = c(-1, 1)))))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/ancova.json")
cat("wrote tests/reference/ancova.json\n")
