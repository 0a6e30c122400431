// Russian messages (the default): react-admin's own plus the cabinet's, per resource.
// English fills any react-admin key the Russian pack does not have yet.
import russianMessages from "ra-language-russian";

import { en } from "./en";

function merge<T extends Record<string, any>>(base: T, over: Record<string, any>): T {
  const out: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = value && typeof value === "object" && !Array.isArray(value) && typeof base[key] === "object"
      ? merge(base[key], value)
      : value;
  }
  return out as T;
}

const cabinet = {
  vitrina: {
    title: "Витрина",
    auth: {
      wrong_password: "Неверный email или пароль",
      log_in: "Войдите в кабинет",
      session_expired: "Сессия истекла: войдите снова",
    },
    errors: {
      network: "Сервер не отвечает. Проверьте подключение и попробуйте ещё раз.",
      forbidden: "Эта страница недоступна для вашей роли.",
    },
    menu: { balance: "Баланс" },
    roles: {
      supplier_manager: "Менеджер поставщика",
      retail_marketer: "Маркетолог сети",
      finance_officer: "Финансист сети",
      admin: "Администратор",
    },
    dashboard: {
      welcome: "Добро пожаловать, %{name}",
      balance: "Баланс",
      held: "Зарезервировано в кампаниях",
      spend_week: "Оплачено скидок за неделю",
      spend_chart: "Оплаченные скидки по дням за 4 недели",
      no_spend: "За последние 4 недели скидки не оплачивались",
      campaigns_money: "Деньги в кампаниях",
      campaign: "Кампания",
      in_budget: "Зарезервировано",
      authorized: "Обещано покупателям",
      no_campaign_money: "В кампаниях нет денег",
      total_available: "Балансы всех организаций",
      low_balances: "Низкий баланс",
      no_low_balances: "Ни у одной организации баланс не ниже порога",
      latest_topups: "Последние пополнения",
      staff_intro: "Согласование кампаний, ценовые ограничения, организации и пользователи.",
      counts: "Сегментов: %{segments} · Ограничений: %{guardrails} · Организаций: %{organisations}",
    },
    money: { invalid: "Введите сумму в рублях, например 1500 или 1500,50" },
    percent: { invalid: "Введите процент, например 12,5" },
    balance: {
      title: "Баланс",
      accounts: "Счета",
      ledger: "Движения по счёту",
      topup: "Пополнение",
      card: "Оплата картой",
      card_amount: "Сумма, ₽",
      card_pay: "Оплатить",
      card_off: "Оплата картой не подключена. Пополните баланс банковским переводом:",
      card_started: "Платёж картой №%{id} создан; баланс пополнится, когда банк его подтвердит.",
      bank: "Банковский перевод",
      bank_instructions:
        "Переведите сумму с расчётного счёта вашей компании на счёт сети, указанный в договоре. В назначении платежа укажите: «Пополнение Витрины, организация %{id}, %{name}». Финансист сети зачтёт перевод, когда он поступит, и баланс пополнится.",
      statement: "Выписка",
      statement_account: "Счёт",
      statement_from: "С",
      statement_to: "По",
      statement_download: "Скачать CSV",
      statement_failed: "Не удалось сформировать выписку: %{message}",
    },
    segments: {
      builder: "Кто входит в сегмент",
      all: "все условия",
      any: "любое из условий",
      not: "не",
      add_condition: "Добавить условие",
      add_group: "Добавить группу",
      remove: "Удалить",
      field: "Признак",
      op: "Условие",
      value: "Значение",
      from: "от",
      to: "до",
      yes: "да",
      no: "нет",
      incomplete: "Выберите значение",
      empty: "Добавьте условие, чтобы увидеть число покупателей.",
      estimate: "Подходит покупателей",
      of_base: "%{share} от всех %{base} покупателей",
      counting: "Считаем…",
      below_minimum:
        "Меньше %{min} покупателей: слишком мало, чтобы показать или запустить кампанию. Ослабьте условия.",
      breakdown_region: "По регионам",
      breakdown_home_store: "По основному магазину",
      breakdown_has_app: "По использованию приложения",
      as_of: "Данные на %{date}",
      ops: {
        eq: "равно",
        in: "одно из",
        gte: "не меньше",
        lte: "не больше",
        between: "между",
        contains_any: "включает любое из",
        contains_all: "включает все из",
      },
      units: {
        per_week: "в неделю",
        day: "дн.",
        kopeck: "₽",
        percent: "%",
        count: "",
        year: "лет",
        score: "",
        probability: "",
      },
    },
  },
  resources: {
    segments: {
      name: "Сегмент |||| Сегменты",
      fields: {
        name: "Название",
        description: "Описание",
        status: "Статус",
        version: "Версия",
        size: "Размер",
        rule: "Правило",
        created_at: "Создан",
        updated_at: "Изменён",
      },
      status: { active: "активен", archived: "в архиве" },
    },
    accounts: {
      name: "Счёт |||| Счета",
      fields: {
        id: "№",
        organisation_id: "Организация",
        kind: "Тип",
        campaign_id: "Кампания",
        currency: "Валюта",
        balance_minor: "Баланс",
        low_balance_threshold_minor: "Порог низкого баланса",
        created_at: "Открыт",
      },
      kind: {
        available: "доступные средства",
        budget: "бюджет кампании",
        authorized: "обещано покупателям",
        supplier_compensation: "компенсации поставщиков",
        stripe_clearing: "транзит карт",
        bank_clearing: "транзит банка",
      },
      low: "ниже порога",
    },
    ledger: {
      name: "Проводка |||| Журнал операций",
      fields: {
        id: "№",
        created_at: "Когда",
        kind: "Операция",
        account_id: "Счёт",
        account_kind: "Тип счёта",
        organisation_id: "Организация",
        campaign_id: "Кампания",
        amount_minor: "Сумма",
        created_at_gte: "С",
        created_at_lte: "По",
      },
      kind: {
        top_up: "пополнение",
        hold: "резерв на кампанию",
        authorize: "обещано покупателю",
        capture: "оплата скидки",
        release_authorization: "возврат обещанного",
        release_budget: "возврат из кампании",
        reversal: "сторно",
      },
    },
    topups: {
      name: "Пополнение |||| Пополнения",
      fields: {
        id: "№",
        organisation_id: "Организация",
        method: "Способ",
        status: "Статус",
        amount_minor: "Сумма",
        document_number: "№ платёжного документа",
        document_date: "Дата платёжного документа",
        created_at: "Внесено",
      },
      method: { card: "карта", bank_transfer: "банковский перевод" },
      status: {
        pending: "в обработке",
        succeeded: "зачислено",
        failed: "не прошло",
        refunded: "возвращено",
        refund_failed: "возврат не удался",
      },
      create_bank: "Зачесть банковский перевод",
      recorded: "Пополнение зачтено: баланс организации вырос",
    },
    guardrails: {
      name: "Ограничение цены |||| Ограничения цен",
      fields: {
        scope: "Действует для",
        target: "Артикул или категория",
        min_price_minor: "Минимальная цена",
        max_discount_bp: "Максимальная скидка, %",
        min_margin_bp: "Минимальная наценка к себестоимости, %",
        updated_at: "Изменено",
      },
      scope: { sku: "артикула", category: "категории", global: "всего (минимальная наценка)" },
      helper: {
        global: "Общее ограничение задаёт только минимальную наценку.",
        item: "Для артикула или категории: минимальная цена и/или максимальная скидка.",
      },
    },
    organisations: {
      name: "Организация |||| Организации",
      fields: {
        id: "№",
        name: "Название",
        kind: "Тип",
        supplier_id: "Код поставщика",
        created_at: "Создана",
        users: "Пользователи",
      },
      kind: { retailer: "сеть", supplier: "поставщик" },
    },
    users: {
      name: "Пользователь |||| Пользователи",
      fields: {
        email: "Email",
        full_name: "Имя",
        role: "Роль",
        organisation_id: "Организация",
        is_active: "Активен",
        password: "Пароль",
        created_at: "Создан",
      },
    },
  },
};

export const ru = merge(merge(en, russianMessages as Record<string, any>), cabinet);
