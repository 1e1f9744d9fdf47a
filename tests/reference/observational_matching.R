# Reference numbers for combotherapy.observational.match: MatchIt::matchit nearest-neighbour matching on the
# logit of a logistic propensity score (distance = "glm", link = "linear.logit", m.order "largest" = default),
# caliper 0.2 SD (std.caliper = TRUE), 1:1, without and with replacement, on MatchIt's lalonde data.
# Balance: summary.matchit standardised mean differences (denominator: treated SD) and variance ratios.
# ATT: lm(re78 ~ treat, weights = MatchIt weights) on the matched data; SE sandwich::vcovCL(cluster = ~subclass)
# (HC1, cadjust) without replacement, sandwich::vcovHC(type = "HC1") with replacement.
# Run from the repository root:  Rscript tests/reference/observational_matching.R
#
# IMPORTANT: Debian's r-cran-matchit 4.5.1 ignores calipers below 1 on this platform: its C++ code compares
# abs(distance[i] - distance[k]) with the integer abs(), which truncates the gap to an integer (fixed upstream in
# MatchIt 4.5.4, NEWS: "Fixed a bug where calipers would not work properly on some systems", #163, commit 4b5b2f8).
# On lalonde it pairs units up to 0.9995 apart on the logit with a 0.36 caliper. The numbers here come from
# MatchIt 4.5.1 (github kosukeimai/MatchIt, commit ea40f25584f5cb3a9038f3c8dfa3b65049bd4582) with only that fix
# applied (abs( -> std::abs( in src/nn_matchC*.cpp; Makevars without LAPACK/BLAS, which the matching code does not
# use), installed with R CMD INSTALL -l rlib_observational (a folder beside the repository, or set MATCHIT_LIB). Newer MatchIt needs rlang >= 1.1 (Debian: 1.0.6).
MATCHIT_LIB <- Sys.getenv("MATCHIT_LIB", "rlib_observational")
suppressPackageStartupMessages({library(MatchIt, lib.loc = MATCHIT_LIB); library(sandwich); library(jsonlite)})

lal <- read.csv("src/combotherapy/datasets/matchit_lalonde/lalonde.csv")
out <- list(meta = list(R = R.version.string, MatchIt = paste(as.character(packageVersion("MatchIt", lib.loc = MATCHIT_LIB)),
                          "(commit ea40f25 + upstream caliper fix 4b5b2f8)"),
                        sandwich = as.character(packageVersion("sandwich")),
                        md5_lalonde = unname(tools::md5sum("src/combotherapy/datasets/matchit_lalonde/lalonde.csv"))))
for (rep in c(FALSE, TRUE)) {
  m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lal, method = "nearest",
               distance = "glm", link = "linear.logit", caliper = 0.2, replace = rep)
  s <- summary(m, standardize = TRUE)
  md <- match.data(m)
  fit <- lm(re78 ~ treat, data = md, weights = weights)
  V <- if (rep) vcovHC(fit, type = "HC1") else vcovCL(fit, cluster = ~subclass)
  mm <- m$match.matrix  # rows: treated units (row names), column: matched control (row name) or NA
  key <- if (rep) "with_replacement" else "without_replacement"
  out[[key]] <- list(
    distance_head = unname(m$distance[1:10]),
    caliper = unname(m$caliper),
    weights = unname(m$weights),
    pairs_treated = match(rownames(mm), rownames(lal))[!is.na(mm[, 1])],
    pairs_control = match(mm[!is.na(mm[, 1]), 1], rownames(lal)),
    n_matched = unname(s$nn["Matched", ]),   # control, treated
    smd_before = unname(s$sum.all[, "Std. Mean Diff."]), smd_after = unname(s$sum.matched[, "Std. Mean Diff."]),
    vr_after = unname(s$sum.matched[, "Var. Ratio"]), covariates = rownames(s$sum.matched),
    att = unname(coef(fit)[2]), att_se = unname(sqrt(V[2, 2])))
}
write_json(out, "tests/reference/observational_matching.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written tests/reference/observational_matching.json\n")
