# Reference numbers for ct.responders and combotherapy.models.proportions.
#
# Run from the repository root:  Rscript tests/reference/responders.R
# Writes tests/reference/responders.json (full precision, jsonlite digits = NA).
#
# PropCIs and DescTools are not available here, so the Wilson and Newcombe intervals are
# written out by hand from Newcombe (1998a, method 3; 1998b, method 10). The Wilson interval is
# cross-checked against prop.test(correct = FALSE)$conf.int, the score p-value is
# prop.test(correct = FALSE)$p.value, and Newcombe's worked examples (Stat Med 17:873-890,
# Table II, method 10) are reproduced to the 4 decimals printed there. The risk ratio uses the
# Katz log interval by formula (0.5 added to every cell only for tables with a zero count), the
# odds ratio glm(binomial) with the baseline as covariate and contrasts between arms through
# emmeans (asymptotic z), cross-checked against coef()/vcov() algebra.
suppressPackageStartupMessages({library(jsonlite); library(emmeans)})

TIE <- 1e-9    # the same tie rule as the package: improvements within 1e-9 (relative) of the cut count

wilson <- function(x, n, alpha) {
  z <- qnorm(1 - alpha / 2)
  centre <- x + z^2 / 2
  half <- z * sqrt(x * (n - x) / n + z^2 / 4)
  cbind(low = (centre - half) / (n + z^2), high = (centre + half) / (n + z^2))
}
newcombe <- function(x1, n1, x2, n2, alpha) {
  p1 <- x1 / n1; p2 <- x2 / n2
  w1 <- wilson(x1, n1, alpha); w2 <- wilson(x2, n2, alpha)
  d <- p1 - p2
  cbind(estimate = d,
        low = d - sqrt((p1 - w1[, "low"])^2 + (w2[, "high"] - p2)^2),
        high = d + sqrt((w1[, "high"] - p1)^2 + (p2 - w2[, "low"])^2),
        se = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
}
katz <- function(x1, n1, x2, n2, alpha) {
  z <- qnorm(1 - alpha / 2)
  corr <- (x1 == 0 | x2 == 0) & !(x1 == 0 & x2 == 0)
  cc <- ifelse(corr, 0.5, 0)
  a1 <- x1 + cc; m1 <- n1 + 2 * cc; a2 <- x2 + cc; m2 <- n2 + 2 * cc
  lrr <- log((a1 / m1) / (a2 / m2))
  se <- sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
  lrr[x1 == 0 & x2 == 0] <- NA; se[x1 == 0 & x2 == 0] <- NA
  cbind(estimate = exp(lrr), low = exp(lrr - z * se), high = exp(lrr + z * se), log = lrr, se = se,
        stat = lrr / se, p = 2 * pnorm(-abs(lrr / se)), corrected = corr)
}

# --- Wilson against prop.test, and Newcombe's Table II ------------------------------------------
for (xn in list(c(0, 10), c(1, 29), c(56, 70), c(48, 80), c(10, 10), c(17, 37))) {
  a <- wilson(xn[1], xn[2], 0.05)
  b <- prop.test(xn[1], xn[2], correct = FALSE)$conf.int
  stopifnot(abs(a[1, "low"] - b[1]) < 1e-12, abs(a[1, "high"] - b[2]) < 1e-12)
}
table2 <- data.frame(x1 = c(56, 9, 6, 5, 0, 0, 10, 10), n1 = c(70, 10, 7, 56, 10, 10, 10, 10),
                     x2 = c(48, 3, 2, 0, 0, 0, 0, 0), n2 = c(80, 10, 7, 29, 20, 10, 20, 10))
nc <- newcombe(table2$x1, table2$n1, table2$x2, table2$n2, 0.05)
table2$low <- nc[, "low"]; table2$high <- nc[, "high"]
print(round(table2, 4))

# --- responder analyses --------------------------------------------------------------------------
better <- c(pain = "lower", rom = "higher")
ranked <- c("combined", "physio", "acupuncture", "control")   # the package's contrast order
pairs_for <- function(arms, reference) {
  r <- ranked[ranked %in% arms]
  if (!is.null(reference)) return(lapply(setdiff(r, reference), function(a) c(a, reference)))
  out <- list()
  for (i in seq_along(r)) for (j in seq_along(r)) if (j > i) out[[length(out) + 1]] <- c(r[i], r[j])
  out
}

analyse <- function(d, outcome, visit, threshold, relative, missing, reference = NULL, alpha = 0.05,
                    adjust = "none") {
  subj <- unique(d[, c("subject", "arm")])
  base <- d[d$visit == 0, c("subject", outcome)]; names(base)[2] <- "baseline"
  post <- d[d$visit == visit, c("subject", outcome)]; names(post)[2] <- "value"
  s <- merge(merge(subj, base, all.x = TRUE), post, all.x = TRUE)
  sgn <- if (better[[outcome]] == "higher") 1 else -1
  impr <- sgn * (s$value - s$baseline)
  cut <- if (relative) threshold * s$baseline else rep(threshold, nrow(s))
  reached <- impr >= cut - TIE * pmax(1, abs(cut))
  zero <- relative & !is.na(s$baseline) & s$baseline == 0
  keep <- !is.na(s$baseline) & (missing == "nonresponder" | !is.na(s$value))
  s$resp <- ifelse(is.na(s$value) | zero, 0, as.numeric(reached))
  s <- s[keep, ]
  arms <- ranked[ranked %in% s$arm]
  arms <- c("control", "physio", "acupuncture", "combined")[c("control", "physio", "acupuncture", "combined") %in% arms]
  n <- as.numeric(table(factor(s$arm, levels = arms)))
  x <- as.numeric(tapply(s$resp, factor(s$arm, levels = arms), sum))
  w <- wilson(x, n, alpha)
  arm_tab <- data.frame(arm = arms, n = n, responders = x, proportion = x / n, ci_low = w[, "low"],
                        ci_high = w[, "high"])

  pairs <- pairs_for(arms, reference)
  m <- length(pairs)
  ci_alpha <- if (adjust == "bonferroni") alpha / m else alpha
  z <- qnorm(1 - ci_alpha / 2)
  f <- sapply(pairs, `[`, 1); sc <- sapply(pairs, `[`, 2)
  X1 <- x[match(f, arms)]; N1 <- n[match(f, arms)]; X2 <- x[match(sc, arms)]; N2 <- n[match(sc, arms)]
  rd <- newcombe(X1, N1, X2, N2, ci_alpha)
  ps <- mapply(function(a, b, c, e) {
    if (a + c == 0 || a + c == b + e) NA else prop.test(c(a, c), c(b, e), correct = FALSE)$p.value
  }, X1, N1, X2, N2)
  pooled <- (X1 + X2) / (N1 + N2)
  zs <- (X1 / N1 - X2 / N2) / sqrt(pooled * (1 - pooled) * (1 / N1 + 1 / N2))
  rr <- katz(X1, N1, X2, N2, ci_alpha)

  # logistic regression on the arms where the MLE exists (0 < responders < n)
  ok <- arms[x > 0 & x < n]
  lor <- se_or <- rep(NA_real_, m)
  if (length(ok) >= 2) {
    sd <- s[s$arm %in% ok, ]
    sd$arm <- factor(sd$arm, levels = ok)
    fit <- glm(resp ~ arm + baseline, family = binomial, data = sd,
               control = glm.control(epsilon = 1e-15, maxit = 100))
    stopifnot(fit$converged)
    est_pairs <- which(f %in% ok & sc %in% ok)
    emm <- emmeans(fit, "arm")
    cl <- lapply(est_pairs, function(i) as.numeric(ok == f[i]) - as.numeric(ok == sc[i]))
    names(cl) <- paste(f[est_pairs], "-", sc[est_pairs])
    ct <- as.data.frame(summary(contrast(emm, method = cl), infer = FALSE))
    lor[est_pairs] <- ct$estimate; se_or[est_pairs] <- ct$SE
    # the same by hand: beta_first - beta_second (reference level has beta 0)
    b <- coef(fit); V <- vcov(fit)
    for (k in seq_along(est_pairs)) {
      i <- est_pairs[k]
      cvec <- setNames(rep(0, length(b)), names(b))
      if (f[i] != ok[1]) cvec[paste0("arm", f[i])] <- 1
      if (sc[i] != ok[1]) cvec[paste0("arm", sc[i])] <- -1
      stopifnot(abs(sum(cvec * b) - lor[i]) < 1e-10, abs(sqrt(drop(cvec %*% V %*% cvec)) - se_or[i]) < 1e-10)
    }
  }
  p_or <- 2 * pnorm(-abs(lor / se_or))
  padj <- function(p) { q <- p; ok <- !is.na(p); q[ok] <- p.adjust(p[ok], if (adjust == "none") "none" else adjust); q }

  lab <- paste(f, "-", sc)
  con <- rbind(
    data.frame(contrast = lab, measure = "risk_difference", estimate = rd[, "estimate"], se = rd[, "se"],
               statistic = zs, p = ps, p_adj = padj(ps), ci_low = rd[, "low"], ci_high = rd[, "high"],
               log_estimate = NA, corrected = FALSE),
    data.frame(contrast = lab, measure = "risk_ratio", estimate = rr[, "estimate"], se = rr[, "se"],
               statistic = rr[, "stat"], p = rr[, "p"], p_adj = padj(rr[, "p"]), ci_low = rr[, "low"],
               ci_high = rr[, "high"], log_estimate = rr[, "log"], corrected = rr[, "corrected"] == 1),
    data.frame(contrast = lab, measure = "odds_ratio", estimate = exp(lor), se = se_or, statistic = lor / se_or,
               p = p_or, p_adj = padj(p_or), ci_low = exp(lor - z * se_or), ci_high = exp(lor + z * se_or),
               log_estimate = lor, corrected = FALSE),
    # NNT = 1/RD, limits 1/upper and 1/lower of the RD interval (Altman 1998)
    data.frame(contrast = lab, measure = "nnt", estimate = 1 / rd[, "estimate"], se = NA, statistic = NA,
               p = NA, p_adj = NA, ci_low = 1 / rd[, "high"], ci_high = 1 / rd[, "low"], log_estimate = NA,
               corrected = FALSE))
  list(arms = arm_tab, contrasts = con, logistic_arms = ok)
}

read_trial <- function(path) read.csv(path, stringsAsFactors = FALSE, na.strings = "")

ub_path <- "tests/reference/data/responders_unbalanced.csv"
ub <- read_trial(ub_path)
drop_ids <- c("U005", "U041", "U066", "U100")
ub_nobase <- ub
ub_nobase <- ub_nobase[!(ub_nobase$subject %in% drop_ids[1:2] & ub_nobase$visit == 0), ]   # rows absent
ub_nobase$pain[ub_nobase$subject %in% drop_ids[3:4] & ub_nobase$visit == 0] <- NA      # value missing

cases <- list(
  list(name = "b_pain_rel30_nonresponder", data = "unbalanced", outcome = "pain", visit = 12, threshold = 0.3,
       relative = TRUE, missing = "nonresponder"),
  list(name = "b_pain_rel50_complete", data = "unbalanced", outcome = "pain", visit = 12, threshold = 0.5,
       relative = TRUE, missing = "complete"),
  list(name = "b_pain_abs2_week6", data = "unbalanced", outcome = "pain", visit = 6, threshold = 2,
       relative = FALSE, missing = "nonresponder"),
  list(name = "b_rom_abs10_complete_ref_holm", data = "unbalanced", outcome = "rom", visit = 12, threshold = 10,
       relative = FALSE, missing = "complete", reference = "control", adjust = "holm"),
  list(name = "b_rom_rel20_nonresponder", data = "unbalanced", outcome = "rom", visit = 12, threshold = 0.2,
       relative = TRUE, missing = "nonresponder"),
  list(name = "b_pain_abs2_bonferroni_90", data = "unbalanced", outcome = "pain", visit = 12, threshold = 2,
       relative = FALSE, missing = "nonresponder", adjust = "bonferroni", alpha = 0.10),
  list(name = "b_pain_abs4_zero_cell", data = "unbalanced", outcome = "pain", visit = 12, threshold = 4,
       relative = FALSE, missing = "complete"),
  list(name = "b_pain_abs6_double_zero", data = "unbalanced", outcome = "pain", visit = 12, threshold = 6,
       relative = FALSE, missing = "complete"),
  list(name = "b_pain_rel30_no_baseline_complete", data = "unbalanced_no_baseline", outcome = "pain", visit = 12,
       threshold = 0.3, relative = TRUE, missing = "complete", drop_baseline_rows = drop_ids[1:2],
       blank_baseline = drop_ids[3:4])
)
datasets <- list(unbalanced = ub, unbalanced_no_baseline = ub_nobase)
paths <- list(unbalanced = ub_path, unbalanced_no_baseline = ub_path)

sample_path <- "data/sample/three_arm.csv"
if (file.exists(sample_path)) {
  sa <- read_trial(sample_path)
  datasets$sample <- sa; paths$sample <- sample_path
  last <- max(sa$visit)
  cases <- c(cases, list(
    list(name = "a_pain_rel30_nonresponder", data = "sample", outcome = "pain", visit = last, threshold = 0.3,
         relative = TRUE, missing = "nonresponder"),
    list(name = "a_pain_rel50_complete", data = "sample", outcome = "pain", visit = last, threshold = 0.5,
         relative = TRUE, missing = "complete"),
    list(name = "a_pain_abs2_holm", data = "sample", outcome = "pain", visit = last, threshold = 2,
         relative = FALSE, missing = "nonresponder", adjust = "holm"),
    list(name = "a_rom_abs10_week12_ref_physio", data = "sample", outcome = "rom", visit = 12, threshold = 10,
         relative = FALSE, missing = "complete", reference = "physio")))
}

out <- list()
for (cs in cases) {
  args <- modifyList(list(reference = NULL, alpha = 0.05, adjust = "none"), cs)
  r <- analyse(datasets[[cs$data]], cs$outcome, cs$visit, cs$threshold, cs$relative, cs$missing,
               args$reference, args$alpha, args$adjust)
  cs$path <- paths[[cs$data]]
  cs$md5 <- unname(tools::md5sum(cs$path))   # the tests refuse to compare against changed input data
  cs$alpha <- args$alpha; cs$adjust <- args$adjust
  out[[cs$name]] <- list(args = cs, arms = r$arms, contrasts = r$contrasts, logistic_arms = r$logistic_arms)
  cat("\n==", cs$name, "\n"); print(r$arms)
}

meta <- list(
  generated_by = "tests/reference/responders.R", date = format(Sys.Date()),
  r_version = R.version.string, emmeans = as.character(packageVersion("emmeans")),
  jsonlite = as.character(packageVersion("jsonlite")),
  tolerance = list(estimate_se_rel = 1e-6, p_rel = 1e-4),
  notes = paste("Wilson and Newcombe by hand (PropCIs not available), Wilson checked against prop.test;",
                "RR Katz by formula; OR glm(binomial) resp ~ arm + baseline with emmeans contrasts;",
                "NNT = 1/RD with limits 1/RD_high, 1/RD_low; tie rule 1e-9 relative as in the package."))
json <- toJSON(list(meta = meta, newcombe_table2 = table2, cases = out), digits = NA, auto_unbox = TRUE,
               na = "string", pretty = TRUE, dataframe = "columns", null = "null")
writeLines(json, "tests/reference/responders.json")
cat("\nwrote tests/reference/responders.json with", length(out), "cases\n")
