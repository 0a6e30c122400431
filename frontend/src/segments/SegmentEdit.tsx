import { Edit } from "react-admin";

import { SegmentForm } from "./SegmentForm";

/** Pessimistic: a changed rule is a new version, and the server may refuse it. */
const SegmentEdit = () => (
  <Edit mutationMode="pessimistic" redirect="show">
    <SegmentForm />
  </Edit>
);

export default SegmentEdit;
