# auto_arima.R — the R peer of bench/accuracy: forecast::auto.arima per account
# on the protocol's training part, forecasts of the held-out days (and, with
# windows > 0, of K rolling backtest windows before it, coefficients fixed).
#
#   Rscript auto_arima.R DATA.csv OUT.csv [HOLDOUT=30] [MIN_DAYS=120] [WINDOWS=0] [SEASONAL=1]
#
# OUT.csv: AccountOID,origin,step,mean  (origin 0 = the held-out window,
# origin k = k windows of HOLDOUT days earlier). Times on stderr.
suppressMessages(library(forecast))
a <- commandArgs(trailingOnly = TRUE)
h <- if (length(a) >= 3) as.integer(a[3]) else 30L
min_days <- if (length(a) >= 4) as.integer(a[4]) else 120L
K <- if (length(a) >= 5) as.integer(a[5]) else 0L
seasonal <- if (length(a) >= 6) as.integer(a[6]) != 0 else TRUE
d <- read.csv(a[1], colClasses = c("character", "numeric", "numeric"))
d$date <- as.integer(as.Date(d$ConsumptionDate))
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
    m <- rep(NA_real_, h)
    if (!is.null(fit) && o > 2 * h) {
      m <- tryCatch({
        f <- if (k == 0) fit else Arima(ts(y[1:o], frequency = frequency(yt)), model = fit)
        as.numeric(forecast(f, h = h)$mean)
      }, error = function(e) rep(NA_real_, h))
    }
    out[[length(out) + 1]] <- data.frame(AccountOID = acc, origin = k, step = 1:h, mean = m)
  }
}
write.csv(do.call(rbind, out), a[2], row.names = FALSE)
message(sprintf("r_auto_arima_seconds %.3f", proc.time()[["elapsed"]] - t0))
