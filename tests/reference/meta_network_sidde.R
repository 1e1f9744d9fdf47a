# Reference numbers for combotherapy.meta.netsplit(method="SIDDE") and netmeta(method_tau="REML"/"ML")
# (netmeta built from source, see "netmeta_commit"; same build as meta_network.R).
# Run from the repository root: Rscript tests/reference/meta_network_sidde.R (writes meta_network_sidde.json)
suppressPackageStartupMessages({.libPaths(c(Sys.getenv("COMBOTHERAPY_RLIB", "rlib"), .libPaths())); library(netmeta); library(jsonlite)})
ds <- "src/combotherapy/datasets"
files <- c(senn = "netmeta_Senn2013/senn2013.csv", smoke = "netmeta_smokingcessation/smokingcessation.csv",
           linde = "netmeta_Linde2016/linde2016.csv")
md5 <- as.list(unname(tools::md5sum(file.path(ds, files)))); names(md5) <- names(files)
mat <- function(m) { m <- as.matrix(m); list(rows = rownames(m), cols = colnames(m), values = unname(m)) }
split_out <- function(net) {
  ns <- netsplit(net, method = "SIDDE", verbose = FALSE)
  list(method = ns$method, comparison = ns$comparison, k = ns$k,
       common = ns$common$TE,
       direct.common = ns$direct.common$TE, se.direct.common = ns$direct.common$seTE,
       indirect.common = ns$indirect.common$TE, se.indirect.common = ns$indirect.common$seTE,
       diff.common = ns$compare.common$TE, se.diff.common = ns$compare.common$seTE,
       z.common = ns$compare.common$z, p.common = ns$compare.common$p,
       random = ns$random$TE,
       direct.random = ns$direct.random$TE, se.direct.random = ns$direct.random$seTE,
       indirect.random = ns$indirect.random$TE, se.indirect.random = ns$indirect.random$seTE,
       diff.random = ns$compare.random$TE, se.diff.random = ns$compare.random$seTE,
       z.random = ns$compare.random$z, p.random = ns$compare.random$p)
}
tau_out <- function(net) list(method.tau = net$method.tau, tau = net$tau, tau2 = net$tau2,
                              TE.random = mat(net$TE.random), seTE.random = mat(net$seTE.random),
                              TE.common = mat(net$TE.common), Q = net$Q, df.Q = net$df.Q)

out <- list(R = R.version.string, netmeta = as.character(packageVersion("netmeta")),
            meta = as.character(packageVersion("meta")), metafor = as.character(packageVersion("metafor")),
            netmeta_commit = "843f89cc98e28b149e8bad870dbbf825ce0388b5 (tag 3.4-0)",
            meta_commit = "e1233ac8f960544d610b4311db9156659039928d",
            metabook_commit = "20cc5f3 (guido-s/metabook, needed by meta)",
            CompQuadForm_commit = "a899784 (cran/CompQuadForm 1.4.3)", md5 = md5)

senn <- read.csv(file.path(ds, files["senn"]))
nets <- list()
for (m in c("DL", "REML", "ML"))
  nets[[m]] <- netmeta(TE, seTE, treat1, treat2, studlab, data = senn, sm = "MD", reference.group = "plac",
                       method.tau = m)
out$senn <- list(sidde = split_out(nets$DL), REML = tau_out(nets$REML), ML = tau_out(nets$ML),
                 sidde_REML = split_out(nets$REML))

smoke <- read.csv(file.path(ds, files["smoke"]), na.strings = "")
smoke$treat3[smoke$treat3 == ""] <- NA
pw2 <- pairwise(list(treat1, treat2, treat3), event = list(event1, event2, event3), n = list(n1, n2, n3),
                data = smoke, sm = "OR")
for (m in c("DL", "REML", "ML")) nets[[m]] <- netmeta(pw2, reference.group = "A", method.tau = m)
out$smoke <- list(sidde = split_out(nets$DL), REML = tau_out(nets$REML), ML = tau_out(nets$ML),
                  sidde_REML = split_out(nets$REML))

linde <- read.csv(file.path(ds, files["linde"]))
pw3 <- pairwise(treat = int, event = resp, n = n, studlab = paste(author, year), data = linde, reference = "Placebo",
                sm = "OR")
for (m in c("DL", "REML", "ML")) nets[[m]] <- netmeta(pw3, reference.group = "Placebo", method.tau = m)
out$linde <- list(REML = tau_out(nets$REML), ML = tau_out(nets$ML))
# SIDDE on Linde refits netmeta once per comparison (about 40 fits of a 22-treatment network): slow on a busy
# machine, so it can be left out with COMBOTHERAPY_SIDDE_LINDE=0 (the test then skips it)
if (Sys.getenv("COMBOTHERAPY_SIDDE_LINDE", "1") != "0") out$linde$sidde <- split_out(nets$DL)
# netmeta prints notes on stdout, so the numbers go straight to the file
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null"),
           "tests/reference/meta_network_sidde.json")
