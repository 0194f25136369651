# The bot as a container (README, "With Docker"). Build: docker build -t news-qa-bot .
# Run:   docker run -d --name news-qa-bot --init --restart unless-stopped --env-file .env \
#          -v newsbot-index:/app/index-data -v newsbot-corpus:/app/seeds \
#          -v newsbot-models:/home/node/.cache/news-qa-bot news-qa-bot
# Webhook mode: add -p 8080:8080 and put a TLS proxy in front (deploy/nginx.conf, deploy/Caddyfile).

# Build stage: all dependencies (typescript compiles src/ to dist/; hnswlib-node compiles its
# addon with python3, make and g++, which the full image has and the slim one lacks).
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --loglevel=warn
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --loglevel=warn

# Runtime stage: production dependencies (with the compiled addon; same Debian as the build
# stage) and dist/. package.json stays: it makes dist/ an ES module and names the version.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The corpus is CORPUS_DIR's default, /app/seeds: a new named volume there starts as a copy of
# the seed pages, and pages uploaded by admins then survive a recreated container. The index
# (INDEX_DIR's default) and the model download cache are volumes as well, owned by `node`.
COPY --chown=node:node seeds ./seeds
RUN mkdir -p index-data /home/node/.cache/news-qa-bot \
 && chown node:node index-data /home/node/.cache /home/node/.cache/news-qa-bot
USER node
VOLUME ["/app/index-data", "/app/seeds", "/home/node/.cache/news-qa-bot"]
# Webhook mode only (PORT, default 8080); polling needs no port.
EXPOSE 8080
# node directly, not npm: npm does not pass SIGTERM on to the bot. Run with --init.
CMD ["node", "dist/main.js"]
