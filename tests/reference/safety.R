# Reference numbers for ct.adverse_events (src/combotherapy/models/safety.py).
#
# Run from the repository root:  Rscript tests/reference/safety.R
# Writes tests/reference/safety.json (full precision, jsonlite digits = NA; non-finite numbers as strings).
#
# Data: data/sample/three_arm.csv, data/sample/factorial.csv and tests/reference/data/safety_unbalanced.csv
# (unbalanced arms, dropout, a subject without an adverse-event count; made by safety_make_data.py).
#
# Follow-up per subject (the package's default rule, restated here independently): weeks from randomisation to
# the last visit at which any visit-level outcome (pain, odi, rmdq, rom, crp, analgesic_days, phq9, eq5d,
# endurance) is not missing; 0 when only baseline was seen.
#
# Methods: per-arm Wilson intervals by formula, checked against prop.test(correct = FALSE)$conf.int;
# per-arm exact rate intervals from poisson.test(events, patient-weeks); risk differences with Newcombe's hybrid
# score interval (method 10) by formula (PropCIs/DescTools are not installed); Fisher's exact test from
# stats::fisher.test (two-sided); rate ratios, their exact conditional intervals and p-values from
# poisson.test(c(E1, E2), c(T1, T2)).
suppressPackageStartupMessages(library(jsonlite))

visit_outcomes <- c("pain", "odi", "rmdq", "rom", "crp", "analgesic_days", "phq9", "eq5d", "endurance")
ranked <- c("combined", "physio", "acupuncture", "control")   # the package's contrast order
alpha <- 0.05

wilson <- function(x, n, alpha) {
  z <- qnorm(1 - alpha / 2)
  centre <- x + z^2 / 2
  half <- z * sqrt(x * (n - x) / n + z^2 / 4)
  c(low = (centre - half) / (n + z^2), high = (centre + half) / (n + z^2))
}

subject_table <- function(d) {
  d$seen <- rowSums(!is.na(d[, visit_outcomes])) > 0
  last <- tapply(ifelse(d$seen, d$visit, NA), d$subject, function(v) if (all(is.na(v))) 0 else max(v, na.rm = TRUE))
  s <- d[!duplicated(d$subject), ]
  s$followup <- as.numeric(last[s$subject])
  s
}

arm_rows <- function(s, col, arms) {
  do.call(rbind, lapply(arms, function(a) {
    x <- s[s$arm == a & !is.na(s[[col]]), ]
    n <- nrow(x); k <- sum(x[[col]] > 0); e <- sum(x[[col]]); w <- sum(x$followup)
    wi <- wilson(k, n, alpha)
    pt <- prop.test(k, n, correct = FALSE)$conf.int
    stopifnot(abs(wi[["low"]] - pt[1]) < 1e-12, abs(wi[["high"]] - pt[2]) < 1e-12)
    pr <- poisson.test(e, w, conf.level = 1 - alpha)
    data.frame(arm = a, n = n, patients = k, proportion = k / n, ci_low = wi[["low"]], ci_high = wi[["high"]],
               events = e, patient_weeks = w, rate = e / w, rate_ci_low = pr$conf.int[1],
               rate_ci_high = pr$conf.int[2])
  }))
}

pairs_for <- function(arms) {
  r <- ranked[ranked %in% arms]
  out <- list()
  for (i in seq_along(r)) for (j in seq_along(r)) if (i < j) out[[length(out) + 1]] <- c(r[i], r[j])
  out
}

contrast_rows <- function(tab, type, arms) {
  do.call(rbind, lapply(pairs_for(arms), function(pr) {
    a <- tab[tab$arm == pr[1], ]; b <- tab[tab$arm == pr[2], ]
    p1 <- a$patients / a$n; p2 <- b$patients / b$n
    w1 <- wilson(a$patients, a$n, alpha); w2 <- wilson(b$patients, b$n, alpha)
    d <- p1 - p2
    fisher <- fisher.test(matrix(c(a$patients, a$n - a$patients, b$patients, b$n - b$patients), 2,
                                 byrow = TRUE))$p.value
    rd <- data.frame(type = type, contrast = paste(pr[1], "-", pr[2]), measure = "risk_difference",
                     estimate = d, se = sqrt(p1 * (1 - p1) / a$n + p2 * (1 - p2) / b$n),
                     ci_low = d - sqrt((p1 - w1[["low"]])^2 + (w2[["high"]] - p2)^2),
                     ci_high = d + sqrt((w1[["high"]] - p1)^2 + (p2 - w2[["low"]])^2), p = fisher)
    if (a$events + b$events > 0) {
      pt <- poisson.test(c(a$events, b$events), c(a$patient_weeks, b$patient_weeks), conf.level = 1 - alpha)
      rr <- data.frame(type = type, contrast = paste(pr[1], "-", pr[2]), measure = "rate_ratio",
                       estimate = unname(pt$estimate), se = sqrt(1 / a$events + 1 / b$events),
                       ci_low = pt$conf.int[1], ci_high = pt$conf.int[2], p = pt$p.value)
    } else {
      rr <- data.frame(type = type, contrast = paste(pr[1], "-", pr[2]), measure = "rate_ratio", estimate = NA,
                       se = NA, ci_low = NA, ci_high = NA, p = NA)
    }
    rbind(rd, rr)
  }))
}

analyse <- function(path) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  s <- subject_table(d)
  s <- s[!is.na(s$adverse_events), ]
  arms <- ranked[ranked %in% unique(s$arm)]
  types <- sub("^ae_", "", grep("^ae_", names(d), value = TRUE))
  by_arm <- arm_rows(s, "adverse_events", arms)
  by_type <- do.call(rbind, lapply(types, function(t) cbind(type = t, arm_rows(s, paste0("ae_", t), arms))))
  contrasts <- rbind(contrast_rows(by_arm, "any", arms),
                     do.call(rbind, lapply(types, function(t) contrast_rows(by_type[by_type$type == t, ], t, arms))))
  # Holm over the pairs within each type and measure (stats::p.adjust), for the package's adjust = "holm"
  fam <- paste(contrasts$type, contrasts$measure)
  contrasts$p_holm <- ave(contrasts$p, fam, FUN = function(p) p.adjust(p, "holm"))
  list(file = path, md5 = unname(tools::md5sum(path)), by_arm = by_arm, by_type = by_type, contrasts = contrasts,
       excluded = nrow(subject_table(d)) - nrow(s))
}

# a check of the zero-event conventions the package follows (exact limits 0 / Inf)
zero <- poisson.test(c(5, 0), c(100, 120))
stopifnot(is.infinite(zero$estimate), is.infinite(zero$conf.int[2]))

out <- list(
  R = R.version.string,
  packages = list(jsonlite = as.character(packageVersion("jsonlite")), stats = as.character(packageVersion("stats"))),
  alpha = alpha,
  zero_second = list(estimate = unname(zero$estimate), ci_low = zero$conf.int[1], ci_high = zero$conf.int[2],
                     p = zero$p.value),
  datasets = list(
    three_arm = analyse("data/sample/three_arm.csv"),
    factorial = analyse("data/sample/factorial.csv"),
    unbalanced = analyse("tests/reference/data/safety_unbalanced.csv")
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE), "tests/reference/safety.json")
cat("wrote tests/reference/safety.json\n")
