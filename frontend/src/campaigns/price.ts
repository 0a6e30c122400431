// The price with a discount, in whole kopecks (half up), by integer arithmetic.

export function discounted(priceMinor: number, bp: number): number {
  const kept = BigInt(priceMinor) * BigInt(10_000 - bp);
  return Number((kept + 5_000n) / 10_000n);
}
