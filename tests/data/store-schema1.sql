-- A state store as overmind's first release wrote it (schema 1: missions and exits only):
-- a crashed, a clean and a killed mission.
PRAGMA user_version=1;
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE missions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    type TEXT NOT NULL,
    provider TEXT NOT NULL,
    command TEXT NOT NULL,
    cwd TEXT NOT NULL,
    parent TEXT,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    killed_at REAL,
    stop_requested_at REAL
);
INSERT INTO missions VALUES('b5073ac9','old-crash','omrig-v1@old-crash.service','task','raw','exit 2','/tmp',NULL,'{"command": "exit 2", "name": "old-crash", "cwd": "/tmp", "env": {"A": "1"}, "type": "task", "provider": "raw", "limits": {"memory_max": 268435456, "cpu_quota": null, "tasks_max": null, "timeout": null}, "restart": {"policy": "never", "max_restarts": null, "max_seconds": null, "backoff": null, "backoff_max": null}, "activity_timeout": null, "stop_timeout": 10.0, "parent": null}',1796098001.4655752182,NULL,NULL);
INSERT INTO missions VALUES('4f79207f','old-ok','omrig-v1@old-ok.service','task','raw','echo fine','/tmp',NULL,'{"command": "echo fine", "name": "old-ok", "cwd": "/tmp", "env": {}, "type": "task", "provider": "raw", "limits": {"memory_max": null, "cpu_quota": null, "tasks_max": null, "timeout": null}, "restart": {"policy": "never", "max_restarts": null, "max_seconds": null, "backoff": null, "backoff_max": null}, "activity_timeout": null, "stop_timeout": 10.0, "parent": null}',1796098001.5598351955,NULL,NULL);
INSERT INTO missions VALUES('d7411d48','old-killed','omrig-v1@old-killed.service','task','raw','sleep 100','/tmp',NULL,'{"command": "sleep 100", "name": "old-killed", "cwd": "/tmp", "env": {}, "type": "task", "provider": "raw", "limits": {"memory_max": null, "cpu_quota": null, "tasks_max": null, "timeout": null}, "restart": {"policy": "never", "max_restarts": null, "max_seconds": null, "backoff": null, "backoff_max": null}, "activity_timeout": null, "stop_timeout": 10.0, "parent": null}',1796098001.6516809463,1796098003.7351913451,NULL);
CREATE TABLE exits (
    mission_id TEXT NOT NULL REFERENCES missions (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    service_result TEXT NOT NULL,
    exit_code TEXT NOT NULL,
    exit_status TEXT NOT NULL,
    oom INTEGER NOT NULL DEFAULT 0
);
INSERT INTO exits VALUES('b5073ac9',1796098001.522313118,'exit-code','exited','2',0);
INSERT INTO exits VALUES('4f79207f',1796098001.6250753402,'success','exited','0',0);
INSERT INTO exits VALUES('d7411d48',1796098003.80579257,'signal','killed','KILL',0);
CREATE INDEX missions_by_name ON missions (name, created_at);
CREATE INDEX exits_by_mission ON exits (mission_id, at);
COMMIT;
