// How the offer looks in the retailer's app: the product, the shelf price struck through,
// the price with the discount, and the «Скидка от поставщика» label. Prices are integer
// kopecks; the discounted price is computed with BigInt (half up), never a float.
import { Box, Card, CardContent, Chip, Stack, Typography } from "@mui/material";
import { useGetMany, useLocaleState, useRecordContext, useTranslate } from "react-admin";

import { formatBasisPoints, formatMoney } from "../money";
import { discounted } from "./price";

export const OfferPreview = () => {
  const record = useRecordContext();
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const skus: string[] = record?.skus ?? [];
  const { data: products } = useGetMany("products", { ids: skus.slice(0, 3) }, { enabled: skus.length > 0 });
  if (!record) return null;
  const depth: number = record.depth_mode === "ai" ? record.max_discount_bp : record.discount_bp;
  const label = locale === "en" ? "Supplier discount" : "Скидка от поставщика";
  return (
    <Stack direction="row" spacing={2} sx={{ flexWrap: "wrap" }} data-testid="offer-preview">
      {(products ?? []).map((product: any) => (
        <Card key={product.sku} variant="outlined" sx={{ width: 220, borderRadius: 3 }}>
          <CardContent>
            <Chip size="small" color="secondary" label={label} sx={{ mb: 1 }} />
            <Typography variant="subtitle2">{product.name}</Typography>
            <Typography variant="caption" color="text.secondary">{product.brand ?? ""}</Typography>
            <Box sx={{ mt: 1, display: "flex", gap: 1, alignItems: "baseline" }}>
              <Typography variant="h6" color="error.main">
                {formatMoney(discounted(product.regular_price_minor, depth), product.currency ?? "RUB", locale)}
              </Typography>
              <Typography variant="body2" sx={{ textDecoration: "line-through" }} color="text.secondary">
                {formatMoney(product.regular_price_minor, product.currency ?? "RUB", locale)}
              </Typography>
            </Box>
            <Typography variant="caption">
              {record.depth_mode === "ai"
                ? translate("vitrina.campaigns.preview_up_to", { depth: formatBasisPoints(depth, locale) })
                : `−${formatBasisPoints(depth, locale)}`}
            </Typography>
          </CardContent>
        </Card>
      ))}
    </Stack>
  );
};
