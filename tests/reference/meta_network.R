# Reference numbers for combotherapy.meta.netmeta / netcomb / discomb (netmeta built from source, see "netmeta_commit").
# Run from the repository root: Rscript tests/reference/meta_network.R (writes tests/reference/meta_network.json)
suppressPackageStartupMessages({.libPaths(c(Sys.getenv("COMBOTHERAPY_RLIB", "rlib"), .libPaths())); library(netmeta); library(jsonlite)})
ds <- "src/combotherapy/datasets"
files <- c(senn = "netmeta_Senn2013/senn2013.csv", smoke = "netmeta_smokingcessation/smokingcessation.csv",
           linde = "netmeta_Linde2016/linde2016.csv", baker = "netmeta_Baker2009/baker2009.csv",
           discomb = "netmeta_discomb_example/discomb_example.csv")
md5 <- as.list(unname(tools::md5sum(file.path(ds, files)))); names(md5) <- names(files)
mat <- function(m) { m <- as.matrix(m); list(rows = rownames(m), cols = colnames(m), values = unname(m)) }
nma_out <- function(net) {
  d <- decomp.design(net)
  rk <- netrank(net, small.values = "desirable")
  ns <- netsplit(net, method = "Back-calculation")
  sel <- !is.na(ns$random$TE) & !is.na(ns$direct.random$TE) & !is.na(ns$indirect.random$TE)
  list(trts = net$trts, k = net$k, m = net$m, n = net$n, d = net$d,
       TE.common = mat(net$TE.common), seTE.common = mat(net$seTE.common),
       TE.random = mat(net$TE.random), seTE.random = mat(net$seTE.random),
       tau = net$tau, tau2 = net$tau2, I2 = net$I2, lower.I2 = net$lower.I2, upper.I2 = net$upper.I2, Q = net$Q, df.Q = net$df.Q, pval.Q = net$pval.Q,
       seTE.adj.common = net$seTE.adj.common, seTE.adj.random = net$seTE.adj.random,
       studlab = net$studlab, treat1 = net$treat1, treat2 = net$treat2,
       Q.decomp = list(Q = d$Q.decomp$Q, df = d$Q.decomp$df, pval = d$Q.decomp$pval, rows = rownames(d$Q.decomp)),
       Q.het.design = list(design = rownames(d$Q.het.design), Q = d$Q.het.design$Q, df = d$Q.het.design$df),
       Q.inc.random = list(Q = d$Q.inc.random$Q, df = d$Q.inc.random$df, tau.within = d$Q.inc.random$tau.within),
       Pscore.common = as.list(rk$ranking.common), Pscore.random = as.list(rk$ranking.random),
       TE.direct.random = mat(net$TE.direct.random), seTE.direct.random = mat(net$seTE.direct.random),
       P.random = mat(net$P.random), P.common = mat(net$P.common),
       netsplit = list(comparison = ns$comparison,
         common = ns$common$TE, direct.common = ns$direct.common$TE, se.direct.common = ns$direct.common$seTE,
         indirect.common = ns$indirect.common$TE, se.indirect.common = ns$indirect.common$seTE,
         diff.common = ns$compare.common$TE, z.common = ns$compare.common$z, p.common = ns$compare.common$p,
         random = ns$random$TE, direct.random = ns$direct.random$TE, se.direct.random = ns$direct.random$seTE,
         indirect.random = ns$indirect.random$TE, se.indirect.random = ns$indirect.random$seTE,
         diff.random = ns$compare.random$TE, z.random = ns$compare.random$z, p.random = ns$compare.random$p,
         prop.common = ns$prop.common, prop.random = ns$prop.random))
}
cnma_out <- function(nc) list(comps = nc$comps, trts = nc$trts,
  Comp.common = setNames(as.list(nc$Comp.common), nc$comps), seComp.common = setNames(as.list(nc$seComp.common), nc$comps),
  Comp.random = setNames(as.list(nc$Comp.random), nc$comps), seComp.random = setNames(as.list(nc$seComp.random), nc$comps),
  Comb.common = setNames(as.list(nc$Comb.common), nc$trts), seComb.common = setNames(as.list(nc$seComb.common), nc$trts),
  Comb.random = setNames(as.list(nc$Comb.random), nc$trts), seComb.random = setNames(as.list(nc$seComb.random), nc$trts),
  TE.random = mat(nc$TE.random), seTE.random = mat(nc$seTE.random),
  tau = nc$tau, tau2 = nc$tau^2, I2 = nc$I2, lower.I2 = nc$lower.I2, upper.I2 = nc$upper.I2,
  Q.additive = nc$Q.additive, df.Q.additive = nc$df.Q.additive, pval.Q.additive = nc$pval.Q.additive,
  Q.standard = nc$Q.standard, df.Q.standard = nc$df.Q.standard,
  Q.diff = nc$Q.diff, df.Q.diff = nc$df.Q.diff, pval.Q.diff = nc$pval.Q.diff, C.matrix = mat(nc$C.matrix))

out <- list(R = R.version.string, netmeta = as.character(packageVersion("netmeta")),
            meta = as.character(packageVersion("meta")),
            netmeta_commit = "843f89cc98e28b149e8bad870dbbf825ce0388b5 (tag 3.4-0)",
            meta_commit = "e1233ac8f960544d610b4311db9156659039928d", md5 = md5)

senn <- read.csv(file.path(ds, files["senn"]))
net1 <- netmeta(TE, seTE, treat1, treat2, studlab, data = senn, sm = "MD", reference.group = "plac")
out$senn <- nma_out(net1)

smoke <- read.csv(file.path(ds, files["smoke"]), na.strings = "")
smoke$treat3[smoke$treat3 == ""] <- NA
pw2 <- pairwise(list(treat1, treat2, treat3), event = list(event1, event2, event3), n = list(n1, n2, n3),
                data = smoke, sm = "OR")
out$smoke_pairwise <- list(studlab = pw2$studlab, treat1 = pw2$treat1, treat2 = pw2$treat2, TE = pw2$TE, seTE = pw2$seTE)
net2 <- netmeta(pw2, reference.group = "A")
out$smoke <- nma_out(net2)

# arm-level effect sizes of other measures (meta's conventions, through netmeta's pairwise)
pwo <- function(pw) list(studlab = as.character(pw$studlab), treat1 = pw$treat1, treat2 = pw$treat2, TE = pw$TE, seTE = pw$seTE)
sennarms <- read.csv(file.path(ds, "netmeta_Senn2013/senn2013_arms.csv"))
out$md5$senn_arms <- unname(tools::md5sum(file.path(ds, "netmeta_Senn2013/senn2013_arms.csv")))
out$senn_arms_MD <- pwo(pairwise(studlab = study, treat = treatment, n = n, mean = mean, sd = sd, data = sennarms, sm = "MD"))
out$senn_arms_SMD <- pwo(pairwise(studlab = study, treat = treatment, n = n, mean = mean, sd = sd, data = sennarms, sm = "SMD"))
for (sm in c("RR", "RD"))
  out[[paste0("smoke_pairwise_", sm)]] <- pwo(pairwise(list(treat1, treat2, treat3), event = list(event1, event2, event3),
                                                       n = list(n1, n2, n3), data = smoke, sm = sm))

linde <- read.csv(file.path(ds, files["linde"]))
pw3 <- pairwise(treat = int, event = resp, n = n, studlab = paste(author, year), data = linde, reference = "Placebo",
                sm = "OR")
out$linde_pairwise <- list(studlab = pw3$studlab, treat1 = pw3$treat1, treat2 = pw3$treat2, TE = pw3$TE, seTE = pw3$seTE)
net3 <- netmeta(pw3, reference.group = "Placebo")
out$linde <- list(tau = net3$tau, Q = net3$Q, df.Q = net3$df.Q, TE.random = mat(net3$TE.random),
                  seTE.random = mat(net3$seTE.random), TE.common = mat(net3$TE.common), seTE.common = mat(net3$seTE.common))
nc3 <- netcomb(net3, inactive = "Placebo")
out$linde_cnma <- cnma_out(nc3)
# interaction of face-to-face CBT and SSRI: C matrix of the additive model plus one interaction column
C4 <- nc3$C.matrix
C4 <- cbind(C4, "Face-to-face CBT*SSRI" = C4[, "Face-to-face CBT"] * C4[, "SSRI"])
nc4 <- netcomb(net3, C.matrix = C4, inactive = "Placebo")
out$linde_interaction <- cnma_out(nc4)

baker <- read.csv(file.path(ds, files["baker"]))
pw5 <- pairwise(treat = treatment, n = total, event = exac, studlab = paste(study, year), data = baker, sm = "OR")
out$baker_pairwise <- list(studlab = pw5$studlab, treat1 = pw5$treat1, treat2 = pw5$treat2, TE = pw5$TE, seTE = pw5$seTE)
net5 <- netmeta(pw5, common = FALSE, reference.group = "Placebo")
out$baker <- nma_out(net5)
nc5 <- netcomb(net5, inactive = "Placebo")
out$baker_cnma <- cnma_out(nc5)
out$baker_cnma$Pscore.random <- as.list(netrank(nc5, small.values = "desirable")$ranking.random)

dc <- read.csv(file.path(ds, files["discomb"]))
dc1 <- discomb(mean, se.mean, t1, t2, study, data = dc,
               seq = c("A", "A + B", "A + C", "A + D", "B", "B + C", "C", "D", "E", "F"))
out$discomb <- cnma_out(dc1)
# netmeta prints notes on stdout, so the numbers go straight to the file
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null"), "tests/reference/meta_network.json")
