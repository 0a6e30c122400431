# The Vitrina API, worker and beat image (one image, three commands in docker-compose.yml).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package-lock.json ]; then npm ci && npm run build; else mkdir -p dist; fi

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY retail retail
COPY audience audience
COPY pricing_ai pricing_ai
COPY billing billing
COPY marketplace_api marketplace_api
RUN pip install --no-cache-dir .
COPY --from=frontend /src/frontend/dist frontend/dist
RUN useradd --system --uid 10001 vitrina && mkdir -p /app/var && chown vitrina /app/var
USER vitrina
EXPOSE 8000
CMD ["vitrina", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
