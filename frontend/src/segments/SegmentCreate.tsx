import { Create } from "react-admin";

import { SegmentForm } from "./SegmentForm";

const SegmentCreate = () => (
  <Create redirect="show">
    <SegmentForm />
  </Create>
);

export default SegmentCreate;
