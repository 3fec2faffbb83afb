// Detector and cohort state is stored to a few significant digits, rounded where it is computed:
// the item stays small (the 1 KB rule), and a replay from memory (vmon backtest) takes the same
// values as the live path, whose state goes through the item between batches.
export const significant = (x: number, digits: number) => Number(x.toPrecision(digits));
