# Makes tests/reference/data/responders_unbalanced.csv: the second validation dataset for
# ct.responders (unbalanced arms, four arms including control, dropout, integer NRS pain with
# exact 30 %/50 % ties, two subjects with baseline pain 0, and ROM where higher is better).
# Deterministic (set.seed); the CSV is committed, so the tests never need R.
# Run from the repository root:  Rscript tests/reference/responders_data.R
set.seed(20240603)
n_arm <- c(control = 14, physio = 37, acupuncture = 23, combined = 52)
arm <- rep(names(n_arm), n_arm)
N <- length(arm)
subject <- sprintf("U%03d", seq_len(N))
effect_pain <- c(control = 0.6, physio = 2.0, acupuncture = 1.6, combined = 3.0)[arm]
effect_rom <- c(control = 2, physio = 9, acupuncture = 5, combined = 12)[arm]
clip <- function(x, lo, hi) pmin(pmax(x, lo), hi)
pain0 <- clip(round(rnorm(N, 6.5, 1.8)), 0, 10)
pain0[c(20, 70)] <- 0            # a physio and an acupuncture subject with no pain at baseline
pain0[c(3, 30, 60, 90)] <- 10    # 10 -> 7 is exactly 30 %, 10 -> 5 exactly 50 %
rom0 <- round(rnorm(N, 55, 12), 1)
age <- round(rnorm(N, 48, 11))
sex <- sample(c("female", "male"), N, replace = TRUE, prob = c(0.6, 0.4))
rows <- list()
for (v in c(0, 6, 12)) {
  f <- v / 12
  pain <- if (v == 0) pain0 else clip(round(pain0 - effect_pain * f * (1 + 0.3 * pain0 / 6.5) + rnorm(N, 0, 1.5)), 0, 10)
  rom <- if (v == 0) rom0 else round(rom0 + effect_rom * f + rnorm(N, 0, 7), 1)
  if (v == 12) {   # exact ties with the relative thresholds for the four baseline-10 subjects
    pain[c(3, 30)] <- 7
    pain[c(60, 90)] <- 5
  }
  rows[[length(rows) + 1]] <- data.frame(subject = subject, arm = arm, visit = v, pain = pain, rom = rom,
                                         age = age, sex = sex)
}
d <- do.call(rbind, rows)
# dropout: monotone, more in acupuncture; a few intermittent misses at week 6
p_drop <- c(control = 0.10, physio = 0.15, acupuncture = 0.25, combined = 0.12)[arm]
drop12 <- runif(N) < p_drop
drop6 <- drop12 & runif(N) < 0.4
miss6 <- !drop6 & runif(N) < 0.05
d$pain[d$visit == 12 & d$subject %in% subject[drop12]] <- NA
d$rom[d$visit == 12 & d$subject %in% subject[drop12]] <- NA
d$pain[d$visit == 6 & d$subject %in% subject[drop6 | miss6]] <- NA
d$rom[d$visit == 6 & d$subject %in% subject[drop6 | miss6]] <- NA
d <- d[order(d$subject, d$visit), ]
write.csv(d, "tests/reference/data/responders_unbalanced.csv", row.names = FALSE, na = "")
cat("wrote", nrow(d), "rows,", N, "subjects; missing pain at 12:", sum(is.na(d$pain[d$visit == 12])), "\n")
