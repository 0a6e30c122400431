// Russian by default, English switchable; the choice is remembered by react-admin's store.
import polyglotI18nProvider from "ra-i18n-polyglot";

import { en } from "./en";
import { ru } from "./ru";

export const i18nProvider = polyglotI18nProvider(
  (locale) => (locale === "en" ? en : ru),
  "ru",
  [
    { locale: "ru", name: "Русский" },
    { locale: "en", name: "English" },
  ],
  { allowMissing: true },
);
