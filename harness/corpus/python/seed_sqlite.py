"""The article's sample store (Kaizen #192, "Custom token persistence"): SQLite in `zohooauth.db`
in the working directory, its constructor and delete_tokens as the article prints them, its
queries with parameters instead of concatenated strings.

Root causes (the kit's report, rule by rule):
- store.reopens: the constructor's table check reads a row, so an empty table counts as missing
  and opening the store again on an empty database raises "table oauthtoken already exists".
- delete-tokens.empties: delete_tokens commits through `self.connection`, which does not exist;
  the AttributeError leaves every row in place.
- save.user-name-unique: a save by id writes the user name it carries, even one another token
  has.
- save.unstored-id-conflict: a save with an id no token has inserts it, even when its key
  designates a stored token.
- save.refuse-tokenless, token.absent-empty: an empty string is stored as a value, so a token
  whose tokens are all "" is saved, and read back with those "".
"""

import sqlite3
from sqlite3 import Error

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants


class CustomStoreSQLite(TokenStore):
    def __init__(self):
        self.db_name = 'zohooauth.db'
        if not self.check_table_exists():
            connection = sqlite3.connect(self.db_name)
            cursor = connection.cursor()
            cursor.execute("CREATE TABLE  oauthtoken (id varchar(10) NOT NULL,user_name varchar(255), client_id "
                           "varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token "
                           "varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar("
                           "255), api_domain varchar(255), primary key (id))")
            cursor.close()
            connection.close()

    def check_table_exists(self):
        connection = sqlite3.connect(self.db_name)
        cursor = connection.cursor()
        try:
            cursor.execute("select * from oauthtoken")
            return cursor.fetchone() is not None
        except Error:
            return False
        finally:
            cursor.close()
            connection.close()

    def find_token(self, token):
        cursor = None
        connection = None
        try:
            connection = sqlite3.connect(self.db_name)
            if isinstance(token, OAuthToken):
                oauth_token = token
                query = "select * from oauthtoken"
                where = []
                params = []
                if oauth_token.get_user_signature() is not None:
                    name = oauth_token.get_user_signature().get_name()
                    if name is not None and len(name) > 0:
                        where.append("user_name=?")
                        params.append(name)
                elif oauth_token.get_access_token() is not None and self.are_all_objects_null(
                        [oauth_token.get_client_id(), oauth_token.get_client_secret()]):
                    where.append("access_token=?")
                    params.append(oauth_token.get_access_token())
                elif (oauth_token.get_refresh_token() is not None or oauth_token.get_grant_token() is not None) and \
                        oauth_token.get_client_id() is not None and oauth_token.get_client_secret() is not None:
                    if oauth_token.get_grant_token() is not None and len(oauth_token.get_grant_token()) > 0:
                        where.append("grant_token=?")
                        params.append(oauth_token.get_grant_token())
                    elif oauth_token.get_refresh_token() is not None and len(oauth_token.get_refresh_token()) > 0:
                        where.append("refresh_token=?")
                        params.append(oauth_token.get_refresh_token())
                if not where:
                    return None
                query = query + " where " + " and ".join(where) + " limit 1"
                cursor = connection.cursor()
                cursor.execute(query, params)
                result = cursor.fetchone()
                if result is None:
                    return None
                self.set_merge_data(oauth_token, result)
        except Exception as ex:
            raise SDKException(Constants.TOKEN_STORE, Constants.GET_TOKEN_DB_ERROR1, cause=ex)
        finally:
            cursor.close() if cursor is not None else None
            connection.close() if connection is not None else None
        return token

    def save_token(self, token):
        if not isinstance(token, OAuthToken):
            return
        connection = sqlite3.connect(self.db_name)
        cursor = connection.cursor()
        try:
            where, params = None, []
            if token.get_id() is not None:
                where, params = "id=?", [token.get_id()]
            elif token.get_user_signature() is not None and token.get_user_signature().get_name():
                where, params = "user_name=?", [token.get_user_signature().get_name()]
            elif token.get_access_token() is not None and self.are_all_objects_null(
                    [token.get_client_id(), token.get_client_secret()]):
                where, params = "access_token=?", [token.get_access_token()]
            elif token.get_grant_token():
                where, params = "grant_token=?", [token.get_grant_token()]
            elif token.get_refresh_token():
                where, params = "refresh_token=?", [token.get_refresh_token()]
            row = None
            if where is not None:
                cursor.execute("select * from oauthtoken where " + where + " limit 1", params)
                row = cursor.fetchone()
            if row is not None:
                stored = object.__new__(OAuthToken)
                self.set_oauth_token(stored)
                self.set_merge_data(stored, row)
                merged = [self.pick(token, stored, g) for g in self.GETTERS]
                cursor.execute("update oauthtoken set user_name=?, client_id=?, client_secret=?, refresh_token=?, "
                               "access_token=?, grant_token=?, expiry_time=?, redirect_url=?, api_domain=? "
                               "where id=?", merged[1:] + [row[0]])
                token.set_id(row[0])
            else:
                if token.get_refresh_token() is None and token.get_grant_token() is None \
                        and token.get_access_token() is None:
                    raise SDKException(Constants.TOKEN_STORE, Constants.GET_TOKEN_DB_ERROR1)
                if token.get_id() is None:
                    token.set_id(str(self.generate_id()))
                cursor.execute("insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,"
                               "grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?);",
                               [self.pick(token, None, g) for g in self.GETTERS])
            connection.commit()
        except SDKException:
            raise
        except Exception as ex:
            raise SDKException(Constants.TOKEN_STORE, Constants.SAVE_TOKEN_DB_ERROR, cause=ex)
        finally:
            cursor.close()
            connection.close()

    GETTERS = ["get_id", "user", "get_client_id", "get_client_secret", "get_refresh_token", "get_access_token",
               "get_grant_token", "get_expires_in", "get_redirect_url", "get_api_domain"]

    @staticmethod
    def pick(token, stored, getter):
        def value(t):
            if t is None:
                return None
            if getter == "user":
                return t.get_user_signature().get_name() if t.get_user_signature() is not None else None
            return getattr(t, getter)()
        mine = value(token)
        return mine if mine is not None else value(stored)

    def delete_token(self, id):
        cursor = None
        try:
            connection = sqlite3.connect(self.db_name)
            try:
                cursor = connection.cursor()
                cursor.execute("delete from oauthtoken where id=?", [id])
                connection.commit()
            except Error as ex:
                raise ex
            finally:
                cursor.close() if cursor is not None else None
                connection.close() if connection is not None else None
        except Error as ex:
            raise SDKException(code=Constants.TOKEN_STORE, message=Constants.DELETE_TOKEN_DB_ERROR, cause=ex)

    def delete_tokens(self):
        cursor = None
        try:
            connection = sqlite3.connect(self.db_name)
            try:
                cursor = connection.cursor()
                query = "delete from oauthtoken;"
                cursor.execute(query)
                self.connection.commit()
            except Error as ex:
                raise ex
            finally:
                cursor.close() if cursor is not None else None
                connection.close() if connection is not None else None
        except Error as ex:
            raise SDKException(code=Constants.TOKEN_STORE, message=Constants.DELETE_TOKENS_DB_ERROR, cause=ex)

    def get_tokens(self):
        cursor = None
        try:
            connection = sqlite3.connect(self.db_name)
            tokens = []
            try:
                cursor = connection.cursor()
                cursor.execute("select * from oauthtoken;")
                for result in cursor.fetchall():
                    oauth_token = object.__new__(OAuthToken)
                    self.set_oauth_token(oauth_token)
                    self.set_merge_data(oauth_token, result)
                    tokens.append(oauth_token)
                return tokens
            except Error as ex:
                raise ex
            finally:
                cursor.close() if cursor is not None else None
                connection.close() if connection is not None else None
        except Error as ex:
            raise SDKException(code=Constants.TOKEN_STORE, message=Constants.GET_TOKENS_DB_ERROR, cause=ex)

    def find_token_by_id(self, id):
        cursor = None
        try:
            connection = sqlite3.connect(self.db_name)
            try:
                oauth_token = object.__new__(OAuthToken)
                self.set_oauth_token(oauth_token)
                cursor = connection.cursor()
                cursor.execute("select * from oauthtoken where id=?", [id])
                results = cursor.fetchall()
                if results is None or len(results) <= 0:
                    raise SDKException(Constants.TOKEN_STORE, Constants.GET_TOKEN_BY_ID_DB_ERROR)
                for result in results:
                    self.set_merge_data(oauth_token, result)
                    return oauth_token
            except Error as ex:
                raise ex
            finally:
                cursor.close() if cursor is not None else None
                connection.close() if connection is not None else None
        except Error as ex:
            raise SDKException(code=Constants.TOKEN_STORE, message=Constants.GET_TOKEN_BY_ID_DB_ERROR, cause=ex)

    def generate_id(self):
        connection = sqlite3.connect(self.db_name)
        try:
            row = connection.execute("select max(cast(id as integer)) from oauthtoken").fetchone()
            return (row[0] or 0) + 1
        finally:
            connection.close()

    @staticmethod
    def set_oauth_token(oauth_token):
        for setter in ("set_id", "set_client_id", "set_client_secret", "set_refresh_token", "set_access_token",
                       "set_grant_token", "set_expires_in", "set_redirect_url", "set_api_domain"):
            getattr(oauth_token, setter)(None)
        oauth_token.set_user_signature(None)

    @staticmethod
    def set_merge_data(oauth_token, result):
        if oauth_token.get_id() is None:
            oauth_token.set_id(result[0])
        if oauth_token.get_user_signature() is None and result[1] is not None:
            oauth_token.set_user_signature(UserSignature(result[1]))
        for index, (getter, setter) in enumerate(
                [("get_client_id", "set_client_id"), ("get_client_secret", "set_client_secret"),
                 ("get_refresh_token", "set_refresh_token"), ("get_access_token", "set_access_token"),
                 ("get_grant_token", "set_grant_token"), ("get_expires_in", "set_expires_in"),
                 ("get_redirect_url", "set_redirect_url"), ("get_api_domain", "set_api_domain")], start=2):
            if getattr(oauth_token, getter)() is None:
                getattr(oauth_token, setter)(result[index])

    @staticmethod
    def are_all_objects_null(values):
        return all(v is None for v in values)
