// The bell in the app bar, for every role: the organisation's unread count (polled), the
// latest notifications in a popover; opening one marks it read and goes to its campaign.
import NotificationsIcon from "@mui/icons-material/Notifications";
import { Badge, Box, Button, IconButton, List, ListItemButton, ListItemText, Popover, Tooltip, Typography } from "@mui/material";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useLocaleState, useTranslate } from "react-admin";
import { useNavigate } from "react-router-dom";

import { apiFetch } from "../api";
import { formatMoment } from "../common/DateTimeField";

const POLL_MS = 15_000;

export const NotificationBell = () => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const unread = useQuery({
    queryKey: ["notifications", "unread-count"],
    queryFn: async () => (await apiFetch<{ unread: number }>("/notifications/unread-count")).json.unread,
    refetchInterval: POLL_MS,
    refetchOnWindowFocus: true,
  });
  const latest = useQuery({
    queryKey: ["notifications", "latest"],
    queryFn: async () => (await apiFetch<any[]>(`/notifications?range=${encodeURIComponent("[0,9]")}`)).json,
    enabled: anchor !== null,
  });
  const reload = () => client.invalidateQueries({ queryKey: ["notifications"] });

  const open = async (notification: any) => {
    if (!notification.read_at) {
      await apiFetch(`/notifications/${notification.id}/read`, { method: "POST" });
      reload();
    }
    if (notification.campaign_id) {
      setAnchor(null);
      navigate(`/campaigns/${notification.campaign_id}/show`);
    }
  };

  const count = unread.data ?? 0;
  return (
    <>
      <Tooltip title={translate("vitrina.notifications.title")}>
        <IconButton color="inherit" data-testid="notification-bell" data-unread={count} aria-label={translate("vitrina.notifications.title")}
                    onClick={(event) => { setAnchor(event.currentTarget); reload(); }}>
          <Badge badgeContent={count} color="error" data-testid="notification-count">
            <NotificationsIcon />
          </Badge>
        </IconButton>
      </Tooltip>
      <Popover open={anchor !== null} anchorEl={anchor} onClose={() => setAnchor(null)}
               anchorOrigin={{ vertical: "bottom", horizontal: "right" }}
               transformOrigin={{ vertical: "top", horizontal: "right" }}>
        <Box sx={{ width: 420, maxHeight: 480, overflow: "auto" }} data-testid="notification-list">
          {latest.data && latest.data.length === 0 && (
            <Typography sx={{ p: 2 }} color="text.secondary">{translate("vitrina.notifications.empty")}</Typography>
          )}
          <List dense>
            {(latest.data ?? []).map((notification) => (
              <ListItemButton key={notification.id} onClick={() => open(notification)} data-testid="notification"
                              sx={{ bgcolor: notification.read_at ? undefined : "action.hover" }}>
                <ListItemText
                  primary={notification.subject}
                  primaryTypographyProps={{ fontWeight: notification.read_at ? 400 : 700 }}
                  secondary={`${formatMoment(notification.created_at, locale)} · ${notification.body}`}
                  secondaryTypographyProps={{ style: { whiteSpace: "pre-line" } }}
                />
              </ListItemButton>
            ))}
          </List>
          {count > 0 && (
            <Box sx={{ p: 1, textAlign: "right" }}>
              <Button size="small" onClick={async () => {
                const unreadOnes = (latest.data ?? []).filter((n) => !n.read_at);
                await Promise.all(unreadOnes.map((n) => apiFetch(`/notifications/${n.id}/read`, { method: "POST" })));
                reload();
              }}>{translate("vitrina.notifications.mark_shown_read")}</Button>
            </Box>
          )}
        </Box>
      </Popover>
    </>
  );
};
