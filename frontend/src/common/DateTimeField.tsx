// A moment shown in the person's own time zone (the browser's), in the cabinet's language.
import { DateField, type DateFieldProps, useLocaleState } from "react-admin";

export const DateTimeField = (props: DateFieldProps) => {
  const [locale] = useLocaleState();
  return (
    <DateField
      showTime
      locales={locale === "en" ? "en-GB" : "ru-RU"}
      options={{ dateStyle: "medium", timeStyle: "short" }}
      {...props}
    />
  );
};

export const DayField = (props: DateFieldProps) => {
  const [locale] = useLocaleState();
  return <DateField locales={locale === "en" ? "en-GB" : "ru-RU"} {...props} />;
};

export function formatMoment(value: string | Date, locale: string): string {
  return new Intl.DateTimeFormat(locale === "en" ? "en-GB" : "ru-RU", { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(value));
}
