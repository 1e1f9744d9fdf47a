# Reference numbers for combotherapy.meta (escalc, rma, leave1out, influence, regtest, trimfill, meta-regression).
# Run from the repository root: Rscript tests/reference/meta_pairwise.R > tests/reference/meta_pairwise.json
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ds <- "src/combotherapy/datasets"
bcg <- read.csv(file.path(ds, "metafor_dat_bcg/dat_bcg.csv"))
lee <- read.csv(file.path(ds, "metafor_dat_lee2004/dat_lee2004.csv"))
md5 <- unname(tools::md5sum(c(file.path(ds, "metafor_dat_bcg/dat_bcg.csv"), file.path(ds, "metafor_dat_lee2004/dat_lee2004.csv"))))
ctrl <- list(threshold = 1e-12, maxiter = 10000, tau2.max = 1000, tol = 1e-12)  # tol: uniroot (PM, EB)
# small inline data for the continuous and rate measures (a zero count in study 3 exercises the correction)
cont <- data.frame(m1 = c(10.2, 8.1, 12.0, 9.5), sd1 = c(3.1, 2.5, 4.0, 3.3), n1 = c(20, 35, 15, 50),
                   m2 = c(11.0, 9.9, 12.5, 10.1), sd2 = c(2.9, 2.8, 3.6, 3.0), n2 = c(22, 30, 16, 48),
                   x1 = c(5, 12, 0, 20), t1 = c(100, 250, 80, 400), x2 = c(9, 15, 4, 31), t2 = c(110, 240, 85, 390))
esc <- list(
  bcg_RR = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  bcg_OR = escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  bcg_RD = escalc("RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg),
  lee_OR = escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = lee),
  lee_RR = escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = lee),
  lee_RD = escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = lee),
  cont_MD = escalc("MD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = cont),
  cont_SMD = escalc("SMD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = cont),
  cont_IRR = escalc("IRR", x1i = x1, t1i = t1, x2i = x2, t2i = t2, data = cont))
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")), md5 = md5, cont = cont,
            escalc = lapply(esc, function(e) list(yi = as.numeric(e$yi), vi = as.numeric(e$vi))))
fits <- list()
for (dn in c("bcg_RR", "lee_OR")) for (m in c("FE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, data = esc[[dn]], method = m, test = tst, control = ctrl)
  pr <- predict(r)
  fits[[paste(dn, m, tst, sep = "_")]] <- list(b = as.numeric(r$beta), se = r$se, zval = r$zval, pval = r$pval,
    ci_lb = r$ci.lb, ci_ub = r$ci.ub, tau2 = r$tau2, QE = r$QE, QEp = r$QEp, I2 = r$I2, H2 = r$H2,
    pi_lb = pr$pi.lb, pi_ub = pr$pi.ub)
}
out$rma <- fits
r <- rma(yi, vi, data = esc$bcg_RR, method = "REML", control = ctrl)
l1 <- leave1out(r, control = ctrl)
out$leave1out_bcg_REML <- list(estimate = l1$estimate, se = l1$se, tau2 = l1$tau2, Q = l1$Q, I2 = l1$I2, H2 = l1$H2)
rdl <- rma(yi, vi, data = esc$lee_OR, method = "DL", test = "knha")
l2 <- leave1out(rdl)
out$leave1out_lee_DL_knha <- list(estimate = l2$estimate, se = l2$se, pval = l2$pval, tau2 = l2$tau2)
inf <- influence(r, control = ctrl)$inf
out$influence_bcg_REML <- list(rstudent = inf$rstudent, dffits = inf$dffits, cook_d = inf$cook.d, cov_r = inf$cov.r, tau2_del = inf$tau2.del,
                               QE_del = inf$QE.del, hat = inf$hat, weight = inf$weight,
                               dfbetas = influence(r, control = ctrl)$dfbs$intrcpt)
rt1 <- regtest(r); rt2 <- regtest(r, model = "lm")
rtl <- regtest(rdl)
out$regtest <- list(bcg_rma = list(zval = rt1$zval, pval = rt1$pval, est = rt1$est),
                    bcg_lm = list(zval = rt2$zval, pval = rt2$pval, dfs = rt2$dfs, est = rt2$est),
                    lee_knha = list(zval = rtl$zval, pval = rtl$pval, dfs = rtl$dfs, est = rtl$est))
tf1 <- trimfill(r, control = ctrl)
rfe <- rma(yi, vi, data = esc$lee_OR, method = "FE")
tf2 <- trimfill(rfe); tf3 <- trimfill(rdl); tf4 <- trimfill(rfe, estimator = "R0")
# metafor refits the filled data with the default z test; the package keeps the model's test, so the reference
# for a Knapp-Hartung model is the filled data refitted with test = "knha"
tfo <- function(t, test = "z") { r <- rma(t$yi, t$vi, method = t$method, test = test, control = ctrl)
  list(k0 = t$k0, side = t$side, b = as.numeric(r$beta), se = r$se, tau2 = r$tau2, yi = as.numeric(t$yi)) }
out$trimfill <- list(bcg_REML = tfo(tf1), lee_FE = tfo(tf2), lee_DL_knha = tfo(tf3, "knha"), lee_FE_R0 = tfo(tf4))
mr <- rma(yi, vi, mods = ~ ablat + year, data = esc$bcg_RR, method = "REML", control = ctrl)
mr2 <- rma(yi, vi, mods = ~ factor(alloc), data = cbind(esc$bcg_RR), method = "DL", test = "knha")
out$metareg <- list(bcg_ablat_year_REML = list(b = as.numeric(mr$beta), se = mr$se, pval = mr$pval, tau2 = mr$tau2,
                      QE = mr$QE, QM = mr$QM, QMp = mr$QMp, I2 = mr$I2, R2 = mr$R2),
                    bcg_alloc_DL_knha = list(b = as.numeric(mr2$beta), se = mr2$se, pval = mr2$pval, tau2 = mr2$tau2,
                      QE = mr2$QE, QM = mr2$QM, QMp = mr2$QMp, QMdf = mr2$QMdf))
# a linear combination of meta-regression coefficients (random vs systematic allocation)
an <- anova(mr2, X = c(0, 1, -1))
out$metareg$bcg_alloc_contrast <- list(est = as.numeric(an$Xb), se = as.numeric(an$se), zval = as.numeric(an$zval),
                                       pval = as.numeric(an$pval))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
