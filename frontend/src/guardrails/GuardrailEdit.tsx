import { Edit } from "react-admin";

import { GuardrailForm } from "./GuardrailForm";
import { toGuardrail } from "./transform";

const GuardrailEdit = () => (
  <Edit mutationMode="pessimistic" redirect="list" transform={toGuardrail}>
    <GuardrailForm creating={false} />
  </Edit>
);

export default GuardrailEdit;
