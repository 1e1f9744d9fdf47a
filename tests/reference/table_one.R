# Reference numbers for combotherapy.table_one (tests/test_table_one.py).
#
# Run from the repository root:  Rscript tests/reference/table_one.R
# Writes tests/reference/table_one.json: the input data and, for every arm and every ordered
# pair of arms, the statistics table_one must reproduce.
#
# R's tableone and DescTools/PropCIs are not installed here (not in Debian 12, CRAN not
# reachable), so:
#   * the categorical SMD is computed by hand following tableone's StdDiffMulti /
#     StdDiffFromLstMeans (Yang & Dalton 2012): table(group, variable) including empty factor
#     levels, drop the first level, pooled multinomial covariance, MASS::ginv;
#   * Newcombe's hybrid score interval (method 10) is combined by hand from Wilson intervals,
#     which are prop.test(x, n, correct = FALSE)$conf.int;
#   * Welch intervals are t.test(x, y)$conf.int (var.equal = FALSE is R's default);
#   * quartiles are quantile(type = 7) (R's default); skewness is G1 computed by hand.
suppressPackageStartupMessages(library(jsonlite))
library(MASS)

set.seed(20240611)
arms <- c("control", "physio", "acupuncture", "combined")
n_arm <- c(14, 19, 23, 27)                       # unbalanced on purpose
arm <- rep(arms, n_arm)
n <- length(arm)
shift <- c(control = 0, physio = 1.5, acupuncture = -1, combined = 3)[arm]
d <- data.frame(
  subject = sprintf("s%03d", seq_len(n)),
  arm = arm,
  age = round(rnorm(n, 50 + shift, 9 + 2 * (arm == "combined")), 0),
  crp = round(exp(rnorm(n, 0.8 + 0.1 * shift, 0.9)), 2),          # right-skewed
  pain = round(pmin(pmax(rnorm(n, 6 + 0.2 * shift, 1.6), 0), 10), 1),
  sex = sample(c("female", "male"), n, replace = TRUE, prob = c(0.6, 0.4)),
  site = sample(c("A", "B", "C"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2)),
  score = sample(1:4, n, replace = TRUE),                           # numeric, described as categorical
  stringsAsFactors = FALSE
)
# missing values, several in one arm, none in others
d$age[c(3, 20, 21)] <- NA
d$crp[c(40)] <- NA
d$pain[c(1, 2, 50, 80)] <- NA
d$sex[c(5, 60)] <- NA
d$site[c(15, 16, 70)] <- NA
site_levels <- c("A", "B", "C", "D")           # "D" is a declared level nobody has

skew_G1 <- function(x) {
  x <- x[!is.na(x)]; n <- length(x); m <- mean(x)
  g1 <- mean((x - m)^3) / mean((x - m)^2)^1.5
  g1 * sqrt(n * (n - 1)) / (n - 2)
}
cont_stats <- function(x) {
  q <- quantile(x, c(0.25, 0.75), type = 7, na.rm = TRUE, names = FALSE)
  list(n = sum(!is.na(x)), missing = sum(is.na(x)), mean = mean(x, na.rm = TRUE), sd = sd(x, na.rm = TRUE),
       median = median(x, na.rm = TRUE), q1 = q[1], q3 = q[2], min = min(x, na.rm = TRUE), max = max(x, na.rm = TRUE))
}
# tableone's StdDiffMulti for one pair, written out
smd_multi <- function(tab2) {                   # 2 x k table: rows = the two arms
  p <- prop.table(tab2, margin = 1)
  if (ncol(p) > 1) p <- p[, -1, drop = FALSE]
  mv <- function(pp) { s <- -outer(pp, pp); diag(s) <- pp * (1 - pp); s }
  S <- (mv(p[1, ]) + mv(p[2, ])) / 2
  dd <- p[1, ] - p[2, ]
  if (all(S == 0)) return(if (all(dd == 0)) 0 else NaN)
  sqrt(drop(t(dd) %*% ginv(S) %*% dd))
}
smd_cont <- function(x, y) {
  abs(mean(x, na.rm = TRUE) - mean(y, na.rm = TRUE)) / sqrt((var(x, na.rm = TRUE) + var(y, na.rm = TRUE)) / 2)
}
newcombe <- function(x1, n1, x2, n2, conf = 0.95) {
  w1 <- prop.test(x1, n1, correct = FALSE, conf.level = conf)$conf.int
  w2 <- prop.test(x2, n2, correct = FALSE, conf.level = conf)$conf.int
  p1 <- x1 / n1; p2 <- x2 / n2
  c(estimate = p1 - p2, lower = p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
    upper = p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}

continuous <- c("age", "crp", "pain")
categorical <- list(sex = c("female", "male"), site = site_levels, score = as.character(1:4))
groups <- c(arms, "overall")
in_group <- function(g) if (g == "overall") rep(TRUE, n) else d$arm == g

out <- list(continuous = list(), categorical = list(), pairs = list())
for (v in continuous) {
  out$continuous[[v]] <- list(
    skewness = skew_G1(d[[v]]),
    groups = setNames(lapply(groups, function(g) cont_stats(d[[v]][in_group(g)])), groups))
}
for (v in names(categorical)) {
  f <- factor(as.character(d[[v]]), levels = categorical[[v]])
  out$categorical[[v]] <- setNames(lapply(groups, function(g) {
    tab <- table(f[in_group(g)])
    list(counts = as.list(setNames(as.numeric(tab), names(tab))), missing = sum(is.na(f[in_group(g)])))
  }), groups)
}
for (a in arms) for (b in arms) if (a != b) {
  key <- paste(a, b, sep = " - ")
  res <- list(smd = list(), welch = list(), newcombe = list())
  for (v in continuous) {
    x <- d[[v]][d$arm == a]; y <- d[[v]][d$arm == b]
    tt <- t.test(x, y, conf.level = 0.95)
    tt90 <- t.test(x, y, conf.level = 0.90)
    res$smd[[v]] <- smd_cont(x, y)
    res$welch[[v]] <- list(estimate = unname(tt$estimate[1] - tt$estimate[2]), se = unname(tt$stderr),
                           df = unname(tt$parameter), ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
                           ci_low_90 = tt90$conf.int[1], ci_high_90 = tt90$conf.int[2])
  }
  for (v in names(categorical)) {
    f <- factor(as.character(d[[v]]), levels = categorical[[v]])
    sel <- d$arm %in% c(a, b)
    tab2 <- table(factor(d$arm[sel], levels = c(a, b)), f[sel])
    res$smd[[v]] <- smd_multi(tab2)
    res$newcombe[[v]] <- setNames(lapply(categorical[[v]], function(l) {
      nc <- newcombe(tab2[1, l], sum(tab2[1, ]), tab2[2, l], sum(tab2[2, ]))
      nc90 <- newcombe(tab2[1, l], sum(tab2[1, ]), tab2[2, l], sum(tab2[2, ]), conf = 0.90)
      list(estimate = unname(nc["estimate"]), ci_low = unname(nc["lower"]), ci_high = unname(nc["upper"]),
           ci_low_90 = unname(nc90["lower"]), ci_high_90 = unname(nc90["upper"]))
    }), categorical[[v]])
  }
  out$pairs[[key]] <- res
}

data_out <- d
json <- list(
  generated_by = "tests/reference/table_one.R",
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")), jsonlite = as.character(packageVersion("jsonlite")),
                  stats = as.character(packageVersion("stats"))),
  arms = arms, site_levels = site_levels,
  data = data_out,
  expected = out
)
writeLines(toJSON(json, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = TRUE),
           "tests/reference/table_one.json")
cat("wrote tests/reference/table_one.json\n")
