# Reference numbers for formula-term covariates and the one reference-grid rule (tests/test_formula_terms.py).
#
# Run from the repository root:  Rscript tests/reference/formula_terms.R   (writes tests/reference/formula_terms.json)
#
# ANCOVA (lm + emmeans, default reference grid) on tests/reference/data/ancova_fixture.csv at week 12 with
#   A: age * sex + factor(site)        (an interaction of a numeric and a factor covariate)
#   B: splines::ns(age, df = 3) + sex  (a natural spline; our ns() spans the same functions, so the LS means,
#                                       contrasts and sigma agree while the spline coefficients are another basis)
#   C: age * female, female = 1 for sex "female" else 0: a TWO-VALUED NUMERIC covariate in an interaction, where
#      emmeans' cov.keep = "2" grid (female at 0 and 1, equal weights; age:female built from the grid values)
#      differs from putting female at its mean or averaging the age:female column.
# MMRM (nlme::gls, compound symmetry, REML) on tests/reference/data/mmrm_sim.csv: pain ~ arm * visit +
#   base * visit + age + female, female = 1 for sex "F" else 0 (numeric); LS means by emmeans (cov.keep = "2": female averaged over 0
#   and 1 with equal weights, not at its mean).
suppressPackageStartupMessages({library(emmeans); library(jsonlite); library(nlme); library(splines)})
emm_options(msg.interaction = FALSE)
ARMS <- c("control", "physio", "acupuncture", "combined")

tab <- function(x) {
  s <- as.data.frame(summary(x, infer = c(TRUE, TRUE)))
  names(s)[names(s) == "lower.CL"] <- "ci_low"; names(s)[names(s) == "upper.CL"] <- "ci_high"
  names(s)[names(s) == "SE"] <- "se"; names(s)[names(s) == "t.ratio"] <- "statistic"
  names(s)[names(s) == "p.value"] <- "p"
  s
}

fixture <- "tests/reference/data/ancova_fixture.csv"
long <- read.csv(fixture)
base <- long[long$visit == 0, c("subject", "pain")]; names(base)[2] <- "baseline"
fu <- long[long$visit == 12, c("subject", "arm", "age", "sex", "site", "pain")]
names(fu)[names(fu) == "pain"] <- "value"
d <- merge(fu, base, by = "subject")
d$arm <- factor(d$arm, levels = intersect(ARMS, unique(d$arm)))
d$female <- as.numeric(d$sex == "female")
d <- d[complete.cases(d[, c("value", "baseline", "age", "sex", "site")]), ]

ancova_case <- function(rhs) {
  fit <- lm(as.formula(paste("value ~ arm + baseline +", rhs)), data = d)
  emm <- emmeans(fit, ~ arm)
  list(rhs = rhs, n = nrow(d), sigma = sigma(fit), df = fit$df.residual, lsmeans = tab(emm),
       contrasts = tab(pairs(emm, adjust = "none")), coefficients = as.list(coef(fit)))
}
cases <- list(A = ancova_case("age * sex + factor(site)"), B = ancova_case("ns(age, df = 3) + sex"),
              C = ancova_case("age * female"))

sim_raw <- read.csv("tests/reference/data/mmrm_sim.csv")
b0 <- sim_raw[sim_raw$visit == 0, c("subject", "pain")]; names(b0)[2] <- "base"
sim <- merge(sim_raw[sim_raw$visit > 0, ], b0, by = "subject")
sim <- sim[!is.na(sim$pain) & !is.na(sim$base) & !is.na(sim$age) & !is.na(sim$sex), ]
sim <- sim[order(sim$subject, sim$visit), ]
sim <- data.frame(id = sim$subject, arm = factor(sim$arm, levels = intersect(ARMS, unique(sim$arm))),
                  visitf = factor(sim$visit), vi = match(sim$visit, sort(unique(sim$visit))), y = sim$pain,
                  base = sim$base, age = sim$age, female = as.numeric(sim$sex == "F"))
gfit <- gls(y ~ arm * visitf + base * visitf + age + female, data = sim, method = "REML",
            correlation = corCompSymm(form = ~ vi | id),
            control = glsControl(opt = "optim", tolerance = 1e-14, maxIter = 500, msMaxIter = 500))
emm_g <- emmeans(gfit, ~ arm | visitf, mode = "df.error")
emm_mean <- emmeans(gfit, ~ arm | visitf, mode = "df.error", cov.reduce = mean, cov.keep = character(0))
mmrm_case <- list(loglik = as.numeric(logLik(gfit)), female_mean = mean(sim$female), lsmeans = tab(emm_g),
                  lsmeans_at_mean = tab(emm_mean), coefficients = as.list(coef(gfit)))

md5 <- function(p) unname(tools::md5sum(p))
out <- list(ancova = cases, mmrm = mmrm_case,
            versions = list(R = R.version.string, emmeans = as.character(packageVersion("emmeans")),
                            nlme = as.character(packageVersion("nlme"))),
            inputs = list(ancova_fixture = md5(fixture), mmrm_sim = md5("tests/reference/data/mmrm_sim.csv")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/formula_terms.json")
