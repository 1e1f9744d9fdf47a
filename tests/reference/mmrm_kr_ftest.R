# Reference numbers for multi-row F tests of combotherapy's MMRM (tests/test_mmrm_reference.py):
# Kenward-Roger F (Fstat = scale lambda x Wald / q, FstatU = Wald / q with the adjusted covariance, denominator
# df) from pbkrtest::KRmodcomp and Satterthwaite F from
# lmerTest::contestMD, on the random-intercept model, which is the compound-symmetry MMRM (positive covariance).
#
# Run from the repository root:  Rscript tests/reference/mmrm_kr_ftest.R   (writes tests/reference/mmrm_kr_ftest.json)
#
# Data: the simulated trial tests/reference/data/mmrm_sim.csv (as in mmrm_gls.R). Model:
#   pain ~ arm * visit + baseline * visit + age + sex + site, REML.
# Hypotheses (each an L matrix built here from coefficient names; the test builds the same rows from its own names):
#   arm_by_visit : every arm:visit interaction coefficient = 0 (12 rows)
#   arm_type3    : SAS type III arm effect, arm coefficient + mean of its interactions over the 5 visits (3 rows)
#   arm_at_26    : each arm minus control at week 26 (3 rows)
# pbkrtest weights with the expected information (the test compares with ct.mmrm's KR built on the expected
# information); lmerTest's contestMD uses the observed information of its own (theta, sigma) parametrisation, which
# for this model gives the same Satterthwaite F as ct.mmrm's default up to its numerical derivatives.

suppressPackageStartupMessages({library(lme4); library(pbkrtest); library(lmerTest); library(jsonlite)})

sim_raw <- read.csv("tests/reference/data/mmrm_sim.csv")
base <- sim_raw[sim_raw$visit == 0, c("subject", "pain")]
names(base)[2] <- "base"
sim <- merge(sim_raw[sim_raw$visit > 0, ], base, by = "subject")
sim <- sim[!is.na(sim$pain) & !is.na(sim$base), ]
sim <- data.frame(id = sim$subject, arm = factor(sim$arm, levels = c("control", "physio", "acupuncture", "combined")),
                  visitf = factor(sim$visit), y = sim$pain, base = sim$base, age = sim$age, sex = factor(sim$sex),
                  site = factor(sim$site))

run <- function(sim) {
fit <- lmerTest::lmer(y ~ arm * visitf + base * visitf + age + sex + site + (1 | id), data = sim, REML = TRUE)
stopifnot(as.data.frame(VarCorr(fit))$vcov[1] > 0)
b <- fixef(fit)
nm <- names(b)
arms <- c("physio", "acupuncture", "combined")
visits <- levels(sim$visitf)[-1]
row_of <- function(weights) { r <- setNames(numeric(length(nm)), nm); r[names(weights)] <- weights; r }

L <- list(
  arm_by_visit = do.call(rbind, lapply(grep("^arm.*:visitf", nm, value = TRUE), function(n) row_of(setNames(1, n)))),
  arm_type3 = do.call(rbind, lapply(arms, function(a)
    row_of(setNames(c(1, rep(1 / 5, 4)), c(paste0("arm", a), paste0("arm", a, ":visitf", visits)))))),
  arm_at_26 = do.call(rbind, lapply(arms, function(a)
    row_of(setNames(c(1, 1), c(paste0("arm", a), paste0("arm", a, ":visitf26"))))))
)

tests <- lapply(L, function(Lm) {
  kr <- pbkrtest::KRmodcomp(fit, Lm)
  st <- kr$stats
  sat <- lmerTest::contestMD(fit, Lm, ddf = "Satterthwaite")
  list(rows = nrow(Lm),
       kr = list(F = st$Fstat, F_unscaled = st$FstatU, num_df = st$ndf, den_df = st$ddf, scale = st$F.scaling,
                 p = st$p.value),
       satterthwaite = list(F = sat[["F value"]], num_df = sat[["NumDF"]], den_df = sat[["DenDF"]],
                            p = sat[["Pr(>F)"]]))
})

list(n_subjects = length(unique(sim$id)), loglik = as.numeric(logLik(fit)), tests = tests)
}

# the whole trial (lambda is 1 to 1e-6 there), and a small one where KR's scale and df differ from Satterthwaite's:
# every fifth subject (S005, S010, ...)
small <- sim[as.integer(sub("^S", "", sim$id)) %% 5 == 0, ]
out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            pbkrtest = as.character(packageVersion("pbkrtest")),
                            lmerTest = as.character(packageVersion("lmerTest")),
                            jsonlite = as.character(packageVersion("jsonlite"))),
            data_md5 = unname(tools::md5sum("tests/reference/data/mmrm_sim.csv")),
            full = run(sim), small = run(small))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/mmrm_kr_ftest.json")
