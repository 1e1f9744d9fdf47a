# Reference numbers for combotherapy.meta.rma_mv (multilevel / multivariate meta-analysis, metafor's rma.mv).
# I2 is the multilevel I2 of the metafor documentation (Cheung 2014), computed here from the fit as that page does.
# Run from the repository root: Rscript tests/reference/meta_multilevel.R > tests/reference/meta_multilevel.json
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
# the moderator year is centred at 1990 (column year_c in the tests): with raw years the intercept (year 0) and its SE
# are ~20 and move by ~1e-6 with the last digits metafor's optimiser leaves in sigma2 (1e-8), which would not test 1e-6.
ds <- "src/combotherapy/datasets"
files <- file.path(ds, c("metafor_dat_konstantopoulos2011/dat_konstantopoulos2011.csv",
                         "metafor_dat_assink2016/dat_assink2016.csv", "metafor_dat_berkey1998/dat_berkey1998.csv"))
kon <- read.csv(files[1]); ass <- read.csv(files[2]); ber <- read.csv(files[3])
# tight convergence of the optimiser (nlminb on log sigma2) so that the reference is the optimum to ~1e-10
ctrl <- list(rel.tol = 1e-10, eval.max = 10000, iter.max = 10000)
fit <- function(r) {
  fs <- r$fit.stats[, if (r$method == "REML") "REML" else "ML"]
  list(b = as.numeric(r$beta), se = r$se, zval = r$zval, pval = r$pval, ci_lb = r$ci.lb, ci_ub = r$ci.ub,
       ddf = if (all(is.na(r$ddf))) NULL else as.numeric(r$ddf), sigma2 = r$sigma2, nlevels = r$s.nlevels,
       QE = r$QE, QEp = r$QEp, QM = r$QM, QMp = r$QMp, QMdf = r$QMdf,
       ll = fs[1], dev = fs[2], AIC = fs[3], BIC = fs[4], AICc = fs[5],
       ll_ML = r$fit.stats["ll", "ML"], ll_REML = r$fit.stats["ll", "REML"],
       weights = as.numeric(weights(r)),
       I2 = { W <- solve(r$V); X <- model.matrix(r); P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
              100 * sum(r$sigma2) / (sum(r$sigma2) + (r$k - r$p) / sum(diag(P))) },
       pi = if (r$int.only) { pr <- predict(r); c(pr$pi.lb, pr$pi.ub) } else NULL)
}
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
            md5 = unname(tools::md5sum(files)))
f <- list()
for (m in c("REML", "ML")) {
  f[[paste0("kon_", m)]] <- fit(rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, method = m, control = ctrl))
  f[[paste0("kon_year_", m)]] <- fit(rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = kon,
                                            method = m, control = ctrl))
  f[[paste0("ass_", m)]] <- fit(rma.mv(yi, vi, random = ~ 1 | study/esid, data = ass, method = m, control = ctrl))
  f[[paste0("ass_deltype_", m)]] <- fit(rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = ass,
                                               method = m, control = ctrl))
}
f$kon_year_REML_t <- fit(rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = kon, test = "t",
                                control = ctrl))
f$kon_year_REML_t_contain <- fit(rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = kon,
                                        test = "t", dfs = "contain", control = ctrl))
f$ass_deltype_REML_t_contain <- fit(rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = ass,
                                           test = "t", dfs = "contain", control = ctrl))
# a full sampling covariance matrix: effect sizes of one study correlated 0.6 (metafor's vcalc)
Vass <- vcalc(vi, cluster = study, obs = esid, data = ass, rho = 0.6)
out$assink_V_rho <- 0.6
f$ass_V_REML <- fit(rma.mv(yi, Vass, random = ~ 1 | study/esid, data = ass, control = ctrl))
f$ass_V_deltype_ML <- fit(rma.mv(yi, Vass, mods = ~ deltype, random = ~ 1 | study/esid, data = ass, method = "ML",
                                 control = ctrl))
# multivariate: two outcomes per trial with their reported sampling covariance (blocks of v1i, v2i)
Vber <- bldiag(lapply(split(ber[, c("v1i", "v2i")], ber$trial), as.matrix))
f$ber_REML <- fit(rma.mv(yi, Vber, mods = ~ outcome - 1, random = ~ 1 | trial, data = ber, control = ctrl))
f$ber_ML <- fit(rma.mv(yi, Vber, mods = ~ outcome - 1, random = ~ 1 | trial, data = ber, method = "ML",
                       control = ctrl))
# estimates on the boundary (sigma2 = 0): a small inline data set, both components 0; shifted districts: school 0
toy <- data.frame(district = rep(1:4, each = 3), school = rep(1:3, 4),
                  yi = c(0.10, -0.05, 0.02, 0.08, 0.01, -0.03, 0.12, 0.00, 0.05, -0.02, 0.06, 0.03),
                  vi = rep(c(0.05, 0.08, 0.1), 4))
toy$yi2 <- toy$yi + rep(c(-0.4, 0.3, 0.5, -0.2), each = 3)
out$toy <- toy
for (m in c("REML", "ML")) {
  f[[paste0("toy_", m)]] <- fit(rma.mv(yi, vi, random = ~ 1 | district/school, data = toy, method = m, control = ctrl))
  f[[paste0("toy2_", m)]] <- fit(rma.mv(yi2, vi, random = ~ 1 | district/school, data = toy, method = m,
                                        control = ctrl))
}
out$fits <- f
# likelihood-ratio tests: one component fixed at 0
lr <- function(full, red) { a <- anova(full, red)
  list(LRT = a$LRT, pval = a$pval, ll_full = a$fit.stats.f[["ll"]], ll_reduced = a$fit.stats.r[["ll"]],
       df_full = a$parms.f, df_reduced = a$parms.r, AIC_full = a$fit.stats.f[["AIC"]],
       AIC_reduced = a$fit.stats.r[["AIC"]]) }
full <- rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, control = ctrl)
out$lrt <- list(
  kon_REML_district = lr(full, rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, sigma2 = c(0, NA),
                                      control = ctrl)),
  kon_REML_school = lr(full, rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, sigma2 = c(NA, 0),
                                    control = ctrl)),
  ass_ML_esid = lr(rma.mv(yi, vi, random = ~ 1 | study/esid, data = ass, method = "ML", control = ctrl),
                   rma.mv(yi, vi, random = ~ 1 | study/esid, data = ass, method = "ML", sigma2 = c(NA, 0),
                          control = ctrl)))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"))
