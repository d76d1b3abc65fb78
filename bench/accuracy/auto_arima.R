# auto_arima.R — the R peer of bench/accuracy: forecast::auto.arima per account
# on the protocol's training part, forecasts of the held-out days (and, with
# windows > 0, of K rolling backtest windows before it, coefficients fixed).
#
#   Rscript auto_arima.R DATA.csv OUT.csv [HOLDOUT=30] [MIN_DAYS=120] [WINDOWS=0] [SEASONAL=1]
#
# OUT.csv: AccountOID,origin,step,mean,sd,sdsum  (origin 0 = the held-out
# window, origin k = k windows of HOLDOUT days earlier). sd: the daily
# forecast sd of forecast()'s own 80% interval, (upper - mean) / qnorm(0.9).
# sdsum: the sd of the total of steps 1..step. The h-step errors of one path
# are correlated, e_{T+i} = sum_{j<i} psi_j a_{T+i-j}, so the total's error is
# sum_k a_{T+k} Psi_{step-k} with Psi_m = psi_0 + ... + psi_m and
#   Var(sum_{i<=H} e_{T+i}) = sigma2 * sum_{m<H} Psi_m^2
# (Brockwell & Davis 2002, 5.3), psi from the model's full AR polynomial
# (phi, seasonal AR and the differencing, fit$model$phi and $Delta) and its
# MA polynomial (fit$model$theta), stats::ARMAtoMA. Times on stderr.
suppressMessages(library(forecast))
a <- commandArgs(trailingOnly = TRUE)
h <- if (length(a) >= 3) as.integer(a[3]) else 30L
min_days <- if (length(a) >= 4) as.integer(a[4]) else 120L
K <- if (length(a) >= 5) as.integer(a[5]) else 0L
seasonal <- if (length(a) >= 6) as.integer(a[6]) != 0 else TRUE
d <- read.csv(a[1], colClasses = c("character", "numeric", "numeric"))
d$date <- as.integer(as.Date(d$ConsumptionDate))

# sd of the cumulative totals of steps 1..h (see above)
sd_sums <- function(f, h) {
  mod <- f$model
  ar <- mod$phi
  if (length(mod$Delta) > 0) {
    # (1 - sum phi B^i)(1 - sum delta B^i) = 1 - sum a B^i
    p1 <- c(1, -ar); p2 <- c(1, -mod$Delta)
    full <- rep(0, length(p1) + length(p2) - 1)
    for (i in seq_along(p1)) full[i:(i + length(p2) - 1)] <- full[i:(i + length(p2) - 1)] + p1[i] * p2
    ar <- -full[-1]
  }
  psi <- c(1, if (h > 1) ARMAtoMA(ar = ar, ma = mod$theta, lag.max = h - 1) else numeric(0))
  sqrt(f$sigma2 * cumsum(cumsum(psi)^2))
}

out <- list()
t0 <- proc.time()[["elapsed"]]
for (acc in unique(d$AccountOID)) {
  s <- d[d$AccountOID == acc & !is.na(d$Consumption), ]
  if (nrow(s) < min_days) next
  first <- min(s$date); last <- max(s$date)
  y <- rep(NA_real_, last - first + 1)
  y[s$date - first + 1] <- s$Consumption
  n <- length(y) - h
  if (n < 2 * h) next
  yt <- ts(y[1:n], frequency = if (seasonal) 7 else 1)
  fit <- tryCatch(auto.arima(yt), error = function(e) NULL)
  for (k in 0:K) {
    o <- n - k * h
    m <- sdd <- sds <- rep(NA_real_, h)
    if (!is.null(fit) && o > 2 * h) {
      r <- tryCatch({
        f <- if (k == 0) fit else Arima(ts(y[1:o], frequency = frequency(yt)), model = fit)
        fc <- forecast(f, h = h, level = 80)
        list(m = as.numeric(fc$mean), sd = (as.numeric(fc$upper[, 1]) - as.numeric(fc$mean)) / qnorm(0.9),
             sds = sd_sums(f, h))
      }, error = function(e) NULL)
      if (!is.null(r)) { m <- r$m; sdd <- r$sd; sds <- r$sds }
    }
    out[[length(out) + 1]] <- data.frame(AccountOID = acc, origin = k, step = 1:h, mean = m, sd = sdd, sdsum = sds)
  }
}
write.csv(do.call(rbind, out), a[2], row.names = FALSE)
message(sprintf("r_auto_arima_seconds %.3f", proc.time()[["elapsed"]] - t0))
