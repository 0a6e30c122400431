// The visual rule builder, generated from the field catalogue: groups of "all" / "any"
// conditions, each group or condition negatable, and for each field the input its type and
// operator need (yes/no, one value, several values, a number, an amount in roubles, a range).
import AddIcon from "@mui/icons-material/Add";
import DeleteIcon from "@mui/icons-material/DeleteOutline";
import PlaylistAddIcon from "@mui/icons-material/PlaylistAdd";
import {
  Autocomplete,
  Box,
  Button,
  Chip,
  FormControlLabel,
  IconButton,
  InputAdornment,
  MenuItem,
  Switch,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Tooltip,
  Typography,
} from "@mui/material";
import { useLocaleState, useTranslate } from "react-admin";

import type { Catalogue } from "./useCatalogue";
import {
  type CatalogueField,
  type ConditionNode,
  defaultValue,
  emptyGroup,
  type GroupNode,
  newCondition,
  type RuleNode,
} from "./rule";

export interface BuilderProblems {
  byKey: Record<string, string>;
  incomplete: Set<string>;
}

interface Props {
  root: GroupNode;
  catalogue: Catalogue;
  problems: BuilderProblems;
  onChange: (root: GroupNode) => void;
}

function replace(node: RuleNode, key: string, change: (n: RuleNode) => RuleNode | null): RuleNode | null {
  if (node.key === key) return change(node);
  if (node.kind === "group") {
    const children = node.children.map((c) => replace(c, key, change)).filter(Boolean) as RuleNode[];
    return { ...node, children };
  }
  return node;
}

export const RuleBuilder = ({ root, catalogue, problems, onChange }: Props) => {
  const update = (key: string, change: (n: RuleNode) => RuleNode | null) =>
    onChange((replace(root, key, change) as GroupNode) ?? emptyGroup());
  return (
    <Box data-testid="rule-builder">
      <GroupEditor node={root} depth={0} catalogue={catalogue} problems={problems} update={update} />
    </Box>
  );
};

type Update = (key: string, change: (n: RuleNode) => RuleNode | null) => void;

const GroupEditor = ({ node, depth, catalogue, problems, update }: {
  node: GroupNode; depth: number; catalogue: Catalogue; problems: BuilderProblems; update: Update;
}) => {
  const translate = useTranslate();
  const first = catalogue.fields[0];
  return (
    <Box data-testid="rule-group" sx={{
      borderLeft: 3, borderColor: node.negate ? "warning.main" : "primary.light", pl: 1.5, py: 0.5, mb: 1,
    }}>
      <Box sx={{ display: "flex", alignItems: "center", gap: 1, flexWrap: "wrap" }}>
        <FormControlLabel
          control={<Switch size="small" checked={node.negate}
                           onChange={(e) => update(node.key, (n) => ({ ...n, negate: e.target.checked }))} />}
          label={translate("vitrina.segments.not")}
        />
        <ToggleButtonGroup size="small" exclusive value={node.op}
                           onChange={(_e, op) => op && update(node.key, (n) => ({ ...(n as GroupNode), op }))}>
          <ToggleButton value="all">{translate("vitrina.segments.all")}</ToggleButton>
          <ToggleButton value="any">{translate("vitrina.segments.any")}</ToggleButton>
        </ToggleButtonGroup>
        <Button size="small" startIcon={<AddIcon />} disabled={!first}
                onClick={() => update(node.key, (n) => ({ ...(n as GroupNode),
                  children: [...(n as GroupNode).children, newCondition(first)] }))}>
          {translate("vitrina.segments.add_condition")}
        </Button>
        {depth < 4 && (
          <Button size="small" startIcon={<PlaylistAddIcon />}
                  onClick={() => update(node.key, (n) => ({ ...(n as GroupNode),
                    children: [...(n as GroupNode).children, { ...emptyGroup("any"), children: first ? [newCondition(first)] : [] }] }))}>
            {translate("vitrina.segments.add_group")}
          </Button>
        )}
        {depth > 0 && (
          <Tooltip title={translate("vitrina.segments.remove")}>
            <IconButton size="small" aria-label={translate("vitrina.segments.remove")}
                        onClick={() => update(node.key, () => null)}>
              <DeleteIcon fontSize="small" />
            </IconButton>
          </Tooltip>
        )}
      </Box>
      {problems.byKey[node.key] && (
        <Typography color="error" variant="body2">{problems.byKey[node.key]}</Typography>
      )}
      {node.children.map((child) => child.kind === "group" ? (
        <GroupEditor key={child.key} node={child} depth={depth + 1} catalogue={catalogue}
                     problems={problems} update={update} />
      ) : (
        <ConditionEditor key={child.key} node={child} catalogue={catalogue} problems={problems} update={update} />
      ))}
    </Box>
  );
};

const UNITLESS = new Set(["count", "score", "probability"]);

const ConditionEditor = ({ node, catalogue, problems, update }: {
  node: ConditionNode; catalogue: Catalogue; problems: BuilderProblems; update: Update;
}) => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const lang = locale === "en" ? "en" : "ru";
  const field = catalogue.byName[node.field];
  const set = (patch: Partial<ConditionNode>) => update(node.key, (n) => ({ ...(n as ConditionNode), ...patch }));
  const problem = problems.byKey[node.key];
  const incomplete = problems.incomplete.has(node.key);
  return (
    <Box data-testid="rule-condition" sx={{ display: "flex", alignItems: "flex-start", gap: 1, flexWrap: "wrap", my: 1 }}>
      <FormControlLabel sx={{ mt: 0.5, mr: 0 }}
        control={<Switch size="small" checked={node.negate} onChange={(e) => set({ negate: e.target.checked })} />}
        label={translate("vitrina.segments.not")}
      />
      <Autocomplete
        sx={{ width: 280 }}
        size="small"
        disableClearable
        options={catalogue.fields}
        groupBy={(f) => f.group}
        value={field ?? undefined}
        getOptionLabel={(f) => f.label[lang]}
        isOptionEqualToValue={(a, b) => a.name === b.name}
        onChange={(_e, chosen) => chosen && set({ field: chosen.name, op: chosen.ops[0], value: defaultValue(chosen, chosen.ops[0]) })}
        renderInput={(params) => (
          <TextField {...params} label={translate("vitrina.segments.field")}
                     inputProps={{ ...params.inputProps, "data-testid": "condition-field" }} />
        )}
      />
      {field && (
        <TextField select size="small" sx={{ width: 170 }} label={translate("vitrina.segments.op")}
                   value={node.op} SelectProps={{ SelectDisplayProps: { "data-testid": "condition-op" } as any }}
                   onChange={(e) => set({ op: e.target.value, value: defaultValue(field, e.target.value) })}>
          {field.ops.map((op) => (
            <MenuItem key={op} value={op}>{translate(`vitrina.segments.ops.${op}`)}</MenuItem>
          ))}
        </TextField>
      )}
      {field && <ValueEditor field={field} node={node} set={set} error={incomplete} />}
      <Tooltip title={translate("vitrina.segments.remove")}>
        <IconButton size="small" sx={{ mt: 0.5 }} aria-label={translate("vitrina.segments.remove")}
                    onClick={() => update(node.key, () => null)}>
          <DeleteIcon fontSize="small" />
        </IconButton>
      </Tooltip>
      {field && (
        <Typography variant="caption" color="text.secondary" sx={{ width: "100%", ml: 7, mt: -0.5 }}>
          {field.description[lang]}
        </Typography>
      )}
      {problem && <Typography color="error" variant="body2" sx={{ width: "100%", ml: 7 }}>{problem}</Typography>}
    </Box>
  );
};

const ValueEditor = ({ field, node, set, error }: {
  field: CatalogueField; node: ConditionNode; set: (patch: Partial<ConditionNode>) => void;
  error: boolean;
}) => {
  const translate = useTranslate();
  const label = translate("vitrina.segments.value");
  const helper = error ? translate("vitrina.segments.incomplete") : undefined;
  if (field.type === "bool") {
    return (
      <TextField select size="small" sx={{ width: 120 }} label={label} value={node.value ? "yes" : "no"}
                 onChange={(e) => set({ value: e.target.value === "yes" })}>
        <MenuItem value="yes">{translate("vitrina.segments.yes")}</MenuItem>
        <MenuItem value="no">{translate("vitrina.segments.no")}</MenuItem>
      </TextField>
    );
  }
  if (field.type === "enum" || field.type === "set") {
    const options = (field.values ?? []).map((v) => ({ value: String(v.value), label: v.label }));
    const labelOf = (value: string) => options.find((o) => o.value === value)?.label ?? value;
    if (node.op === "eq") {
      return (
        <Autocomplete size="small" sx={{ width: 240 }} options={options.map((o) => o.value)}
          value={(node.value as string) || null} getOptionLabel={labelOf}
          onChange={(_e, value) => set({ value: value ?? "" })}
          renderInput={(params) => <TextField {...params} label={label} error={error} helperText={helper}
                                              inputProps={{ ...params.inputProps, "data-testid": "condition-value" }} />} />
      );
    }
    return (
      <Autocomplete multiple size="small" sx={{ minWidth: 260, maxWidth: 480 }} options={options.map((o) => o.value)}
        value={(node.value as string[]) ?? []} getOptionLabel={labelOf} filterSelectedOptions
        onChange={(_e, value) => set({ value })}
        renderTags={(values, getTagProps) => values.map((value, index) => (
          <Chip size="small" label={labelOf(value)} {...getTagProps({ index })} key={value} />
        ))}
        renderInput={(params) => <TextField {...params} label={label} error={error} helperText={helper}
                                            inputProps={{ ...params.inputProps, "data-testid": "condition-value" }} />} />
    );
  }
  const unit = field.unit && !UNITLESS.has(field.unit) ? translate(`vitrina.segments.units.${field.unit}`) : "";
  const adornment = unit ? { endAdornment: <InputAdornment position="end">{unit}</InputAdornment> } : undefined;
  const hint = field.range?.max !== null && field.range?.max !== undefined && field.type !== "money"
    ? `${field.range.min ?? 0} – ${field.range.max}` : undefined;
  if (node.op === "between") {
    const [low, high] = (node.value as string[]) ?? ["", ""];
    return (
      <Box sx={{ display: "flex", gap: 1 }}>
        <TextField size="small" sx={{ width: 130 }} label={translate("vitrina.segments.from")} value={low}
                   error={error} helperText={helper ?? hint} InputProps={adornment}
                   inputProps={{ inputMode: "decimal", "data-testid": "condition-value-low" }}
                   onChange={(e) => set({ value: [e.target.value, high] })} />
        <TextField size="small" sx={{ width: 130 }} label={translate("vitrina.segments.to")} value={high}
                   error={error} InputProps={adornment}
                   inputProps={{ inputMode: "decimal", "data-testid": "condition-value-high" }}
                   onChange={(e) => set({ value: [low, e.target.value] })} />
      </Box>
    );
  }
  return (
    <TextField size="small" sx={{ width: 150 }} label={label} value={(node.value as string) ?? ""}
               error={error} helperText={helper ?? hint} InputProps={adornment}
               inputProps={{ inputMode: "decimal", "data-testid": "condition-value" }}
               onChange={(e) => set({ value: e.target.value })} />
  );
};
