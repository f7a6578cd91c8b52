-- A dashboard database as the code before migrations (commit 256d63b, create_all) made it: two users,
-- two rooms (one with a state the contract refuses), a session with five windows, a segment, an alert.
-- Made with sqlite3's iterdump; tests/test_dashboard_migrations.py upgrades it.
BEGIN TRANSACTION;
CREATE TABLE alerts (
	id INTEGER NOT NULL, 
	device_id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(32), 
	kind VARCHAR(32) NOT NULL, 
	timestamp FLOAT NOT NULL, 
	payload JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_dash_alerts UNIQUE (device_id, timestamp, kind)
);
INSERT INTO "alerts" VALUES(1,'room-a','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','lsi_drop',1790000020.0,'{"kind": "lsi_drop", "timestamp": 1790000020.0, "message": "drop"}');
CREATE TABLE rooms (
	device_id VARCHAR(64) NOT NULL, 
	name VARCHAR(120) NOT NULL, 
	teacher_id INTEGER, 
	availability VARCHAR(16) NOT NULL, 
	state JSON, 
	stats JSON, 
	last_seen FLOAT, 
	PRIMARY KEY (device_id), 
	FOREIGN KEY(teacher_id) REFERENCES users (id)
);
INSERT INTO "rooms" VALUES('room-a','Room A (7B)',2,'online','{"device_id": "room-a", "timestamp": 1790000100.0, "session": {"id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "label": "Maths 7B", "state": "recording"}, "lsi": "abc"}','{"device_id": "room-a", "fps": NaN}',1790000100.0);
INSERT INTO "rooms" VALUES('room-b','room-b',NULL,'offline',NULL,NULL,1790000000.0);
CREATE TABLE segments (
	id INTEGER NOT NULL, 
	device_id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(32), 
	kind VARCHAR(32) NOT NULL, 
	start FLOAT NOT NULL, 
	payload JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_dash_segments UNIQUE (device_id, start, kind)
);
INSERT INTO "segments" VALUES(1,'room-a','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','lecture',1790000000.0,'{"kind": "lecture", "label": "intro", "start": 1790000000.0, "end": 1790000030.0}');
CREATE TABLE sessions (
	id VARCHAR(32) NOT NULL, 
	device_id VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	started_at FLOAT NOT NULL, 
	ended_at FLOAT, 
	PRIMARY KEY (id)
);
INSERT INTO "sessions" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','room-a','Maths 7B',1790000000.0,NULL);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	password_hash VARCHAR(256) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "users" VALUES(1,'head','scrypt:32768:8:1$icsGs4dTSMuNoFGK$e6337ad701b33ace61f877a5530857c9417b66f2cfc650be8df580975ef1a3fefd9fc559e1aaedb49b11cbe9660c3a3af4185ac96bbbe663027a9205c09e1997','admin');
INSERT INTO "users" VALUES(2,'alice','scrypt:32768:8:1$5SyUBPnJtBHMzmsY$f4a0d996e646f31e91676158d410c67b7655e7e88023424f746dd65f774b2748e0f7669453b7711cddc51aaaa505c97752874a4957381926a4acf1c6efac9e00','teacher');
CREATE TABLE windows (
	id INTEGER NOT NULL, 
	device_id VARCHAR(64) NOT NULL, 
	seq INTEGER NOT NULL, 
	session_id VARCHAR(32), 
	window_start FLOAT NOT NULL, 
	window_end FLOAT NOT NULL, 
	faces FLOAT NOT NULL, 
	lsi FLOAT, 
	suppressed BOOLEAN NOT NULL, 
	payload JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_dash_windows_device_seq UNIQUE (device_id, seq)
);
INSERT INTO "windows" VALUES(1,'room-a',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1790000005.0,1790000010.0,12.0,61.0,0,'{"device_id": "room-a", "seq": 1, "session_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "window_start": 1790000005.0, "window_end": 1790000010.0, "faces": 12.0, "lsi": 61.0, "suppressed": false, "emotions": {"happy": 0.5, "neutral": 0.5}}');
INSERT INTO "windows" VALUES(2,'room-a',2,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1790000010.0,1790000015.0,12.0,62.0,0,'{"device_id": "room-a", "seq": 2, "session_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "window_start": 1790000010.0, "window_end": 1790000015.0, "faces": 12.0, "lsi": 62.0, "suppressed": false, "emotions": {"happy": 0.5, "neutral": 0.5}}');
INSERT INTO "windows" VALUES(3,'room-a',3,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1790000015.0,1790000020.0,12.0,63.0,0,'{"device_id": "room-a", "seq": 3, "session_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "window_start": 1790000015.0, "window_end": 1790000020.0, "faces": 12.0, "lsi": 63.0, "suppressed": false, "emotions": {"happy": 0.5, "neutral": 0.5}}');
INSERT INTO "windows" VALUES(4,'room-a',4,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1790000020.0,1790000025.0,12.0,64.0,0,'{"device_id": "room-a", "seq": 4, "session_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "window_start": 1790000020.0, "window_end": 1790000025.0, "faces": 12.0, "lsi": 64.0, "suppressed": false, "emotions": {"happy": 0.5, "neutral": 0.5}}');
INSERT INTO "windows" VALUES(5,'room-a',5,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1790000025.0,1790000030.0,12.0,65.0,0,'{"device_id": "room-a", "seq": 5, "session_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "window_start": 1790000025.0, "window_end": 1790000030.0, "faces": 12.0, "lsi": 65.0, "suppressed": false, "emotions": {"happy": 0.5, "neutral": 0.5}}');
CREATE INDEX ix_sessions_device_id ON sessions (device_id);
CREATE INDEX ix_windows_session_id ON windows (session_id);
CREATE INDEX ix_windows_device_id ON windows (device_id);
CREATE INDEX ix_windows_window_start ON windows (window_start);
CREATE INDEX ix_segments_session_id ON segments (session_id);
CREATE INDEX ix_segments_device_id ON segments (device_id);
CREATE INDEX ix_alerts_session_id ON alerts (session_id);
CREATE INDEX ix_alerts_device_id ON alerts (device_id);
COMMIT;
