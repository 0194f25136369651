# The bot as a container. Build: docker build -t news-qa-bot .
# Run:   docker run --init -d --env-file .env -v newsbot-index:/app/index-data \
#          -v newsbot-models:/root/.cache/news-qa-bot news-qa-bot
# --init forwards SIGTERM so the bot finishes its answers before stopping. The model downloads
# into the newsbot-models volume on first start (or mount a copy and set EMBEDDING_MODEL_PATH).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --loglevel=warn
COPY tsconfig.json ./
COPY src ./src
COPY seeds ./seeds
RUN mkdir -p index-data
ENV NODE_ENV=production
# node directly, not npm: npm does not pass SIGTERM on to the bot.
CMD ["node", "--import", "tsx", "src/main.ts"]
