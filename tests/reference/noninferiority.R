# Reference numbers for the safety claim's non-inferiority test (combotherapy.models.safety.noninferiority_rd,
# used by ct.claims_report for "acupuncture is safe").
#
# Run from the repository root:  Rscript tests/reference/noninferiority.R
# Writes tests/reference/noninferiority.json (full precision, jsonlite digits = NA).
#
# Test: Farrington & Manning (1990) score test of H0: p1 - p2 >= delta against p1 - p2 < delta,
#   z = (p1^ - p2^ - delta) / sqrt(p1~ q1~ / n1 + p2~ q2~ / n2),  p = pnorm(z),
# where (p1~, p2~) maximise the binomial likelihood under p1 - p2 = delta. The package uses the closed-form cubic
# root; here the restricted maximum is found NUMERICALLY (stats::optimize over p2, tolerance 1e-15), an
# independent route. No R package with this test is installed (PropCIs / DescTools are not available).
#
# Cases: patients with at least one adverse event (adverse_events > 0) per arm in data/sample/three_arm.csv and
# data/sample/factorial.csv (acupuncture and combined against physio, margin 0.10), and constructed tables:
# zero events in both groups, every patient with an event, small unbalanced groups, a margin of 0.2.
suppressPackageStartupMessages(library(jsonlite))

fm <- function(x1, n1, x2, n2, delta) {
  ll <- function(p2) {
    p1 <- p2 + delta
    term <- function(x, n, p) (if (x > 0) x * log(p) else 0) + (if (n - x > 0) (n - x) * log(1 - p) else 0)
    term(x1, n1, p1) + term(x2, n2, p2)
  }
  p2 <- optimize(ll, c(0, 1 - delta), maximum = TRUE, tol = 1e-15)$maximum
  p1 <- p2 + delta
  se <- sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
  z <- (x1 / n1 - x2 / n2 - delta) / se
  list(x1 = x1, n1 = n1, x2 = x2, n2 = n2, margin = delta, estimate = x1 / n1 - x2 / n2, se = se,
       statistic = z, p = pnorm(z), p1_restricted = p1, p2_restricted = p2)
}

from_file <- function(path, tested) {
  d <- read.csv(path)
  s <- d[!duplicated(d$subject) & !is.na(d$adverse_events), ]
  x <- tapply(s$adverse_events > 0, s$arm, sum)
  n <- tapply(s$adverse_events >= 0, s$arm, sum)
  lapply(tested, function(a) c(fm(x[[a]], n[[a]], x[["physio"]], n[["physio"]], 0.10),
                               list(file = path, first = a, second = "physio")))
}

cases <- c(from_file("data/sample/three_arm.csv", c("acupuncture", "combined")),
           from_file("data/sample/factorial.csv", c("acupuncture", "combined")),
           list(fm(0, 300, 0, 300, 0.05), fm(0, 40, 0, 40, 0.10), fm(40, 40, 40, 40, 0.10), fm(3, 8, 7, 8, 0.10),
                fm(5, 40, 0, 40, 0.10), fm(20, 33, 12, 71, 0.20), fm(0, 10, 10, 10, 0.10)))

out <- list(cases = cases, R = R.version.string, notes = "restricted MLE by stats::optimize (tol 1e-15)")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/noninferiority.json")
