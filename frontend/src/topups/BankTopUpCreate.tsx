// The finance officer records a bank transfer that has arrived: the organisation, the
// amount and the payment document. One Idempotency-Key per form: submitting again (a
// double click, a retry after a timeout) cannot credit the money twice.
import { useRef } from "react";
import {
  AutocompleteInput,
  Create,
  DateInput,
  ReferenceInput,
  SimpleForm,
  TextInput,
  required,
  useNotify,
  useRedirect,
} from "react-admin";

import { newIdempotencyKey } from "../api";
import { MoneyInput, toMinor } from "../common/MoneyInput";

const BankTopUpCreate = () => {
  const key = useRef(newIdempotencyKey());
  const notify = useNotify();
  const redirect = useRedirect();
  return (
    <Create
      title="resources.topups.create_bank"
      transform={(data: any) => toMinor(data, ["amount_minor"])}
      mutationOptions={{
        meta: { method: "bank_transfer", idempotencyKey: key.current },
        onSuccess: () => {
          key.current = newIdempotencyKey();
          notify("resources.topups.recorded", { type: "success" });
          redirect("list", "topups");
        },
      }}
    >
      <SimpleForm>
        <ReferenceInput source="organisation_id" reference="organisations" sort={{ field: "name", order: "ASC" }}>
          <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} validate={required()} sx={{ width: 400 }} />
        </ReferenceInput>
        <MoneyInput source="amount_minor" validate={required()} />
        <TextInput source="document_number" validate={required()} />
        <DateInput source="document_date" validate={required()} />
      </SimpleForm>
    </Create>
  );
};

export default BankTopUpCreate;
