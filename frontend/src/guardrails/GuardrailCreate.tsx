import { Create } from "react-admin";

import { GuardrailForm } from "./GuardrailForm";
import { toGuardrail } from "./transform";

const GuardrailCreate = () => (
  <Create redirect="list" transform={toGuardrail}>
    <GuardrailForm creating />
  </Create>
);

export default GuardrailCreate;
