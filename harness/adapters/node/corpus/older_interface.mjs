// A store written for the older interface of the Node.js SDK (its releases 2.0 and 2.1):
// getToken(user, token), saveToken(user, token), deleteToken(token), getTokens(), deleteTokens(),
// getTokenById(id, token), kept in a JSON file and keyed on the user's email. Many apps still run
// those releases.
//
// Root causes: none the kit can check; it must refuse the store in one line naming its interface.

import fs from "node:fs";

export class JsonTokenStore {
  constructor(file = "tokens.json") {
    this.file = file;
  }

  load() {
    return fs.existsSync(this.file) ? JSON.parse(fs.readFileSync(this.file, "utf8")) : [];
  }

  dump(rows) {
    fs.writeFileSync(this.file, JSON.stringify(rows));
  }

  async getToken(user, token) {
    const row = this.load().find((r) => r.user_mail === user.getEmail()
      && r.client_id === token.getClientId());
    if (!row) return null;
    token.setRefreshToken(row.refresh_token);
    token.setAccessToken(row.access_token);
    token.setExpiresIn(row.expiry_time);
    return token;
  }

  async saveToken(user, token) {
    const rows = this.load().filter((r) => r.user_mail !== user.getEmail());
    rows.push({ id: token.getId(), user_mail: user.getEmail(), client_id: token.getClientId(),
      refresh_token: token.getRefreshToken(), access_token: token.getAccessToken(),
      expiry_time: token.getExpiresIn() });
    this.dump(rows);
  }

  async deleteToken(token) {
    this.dump(this.load().filter((r) => r.refresh_token !== token.getRefreshToken()));
  }

  async getTokens() {
    return this.load();
  }

  async deleteTokens() {
    this.dump([]);
  }

  async getTokenById(id, token) {
    const row = this.load().find((r) => r.id === id);
    if (!row) throw new Error(`no token ${id}`);
    token.setRefreshToken(row.refresh_token);
    return token;
  }
}
