;;; eglot_driver.el --- ailoop through eglot, in real Emacs batch mode  -*- lexical-binding: t -*-

;; Run by test_eglot.py:
;;
;;   emacs --batch -l eglot_driver.el
;;
;; (not -Q: Debian's site-start puts the elpa-eglot package on the load path; --batch
;; already skips the user's init file). Environment:
;;   AILOOP_TEST_CONFIG   the Emacs Lisp blocks of docs/emacs.md, loaded as a user's init
;;   AILOOP_TEST_FILE     the Python file to open (in a git repository)
;;   AILOOP_TEST_SNIPPET  the code to insert, in one `insert' (as an AI tool's insertion)
;;   AILOOP_TEST_COMPLETION  a one-line completion, announced with `my/ailoop-generated'
;;   AILOOP_TEST_RESULT   where the JSON result goes
;;
;; It opens the file (python-mode's hook runs `eglot-ensure'), waits for eglot to connect
;; to `ailoop serve', inserts the snippet at the end of the buffer, waits for flymake to
;; show ailoop's marker and ruff's finding, then runs `eglot-code-actions' at the snippet
;; as a user does (M-x eglot-code-actions), picking "Reject AI snippet …" in its prompt;
;; last, a one-line completion reported with the docs' `my/ailoop-generated' gets a marker.
;; Waits are on events (an `accept-process-output' loop with a deadline), never fixed.

(require 'json)
(require 'cl-lib)

(defvar ailoop-test-result (list (cons 'ok :json-false)))
(defconst ailoop-test-timeout 60.0)

(defun ailoop-test-note (key value)
  (setq ailoop-test-result (cons (cons key value) (assq-delete-all key ailoop-test-result))))

(defun ailoop-test-wait (what predicate)
  "Run the event loop until PREDICATE is non-nil; fail after `ailoop-test-timeout'."
  (let ((deadline (+ (float-time) ailoop-test-timeout))
        value)
    (while (and (not (setq value (funcall predicate)))
                (< (float-time) deadline))
      ;; timers (eglot's didChange, flymake's) and the server's messages run in here
      (accept-process-output nil 0.05)
      ;; batch Emacs never goes idle: run the idle timers it would run between keys
      (ailoop-test-run-idle-timers))
    (or value (error "Timed out waiting for %s" what))))

(defvar ailoop-test-idle-since (float-time)
  "When the last simulated command ended: Emacs has been idle since then.")

(defvar ailoop-test-idle-ran nil
  "The idle timers run in this idle period (each runs once a period, as in Emacs).")

(defun ailoop-test-command-done ()
  "A command just ended (as after a key): run post-command-hook, start the idle time."
  (run-hooks 'post-command-hook)
  (setq ailoop-test-idle-since (float-time)
        ailoop-test-idle-ran nil))

(defun ailoop-test-run-idle-timers ()
  "Run the idle timers whose idle delay has passed since the last command.
Batch Emacs reads no keys, so it is never idle and runs none of them by itself; an
interactive Emacs runs them once the user has paused that long (eglot sends didChange
from one, `eglot-send-changes-idle-time' after the last change)."
  (let ((idle (- (float-time) ailoop-test-idle-since)))
    (dolist (timer (copy-sequence timer-idle-list))
      (when (and (memq timer timer-idle-list)
                 (not (memq timer ailoop-test-idle-ran))
                 (>= idle (float-time (timer--time timer))))
        (push timer ailoop-test-idle-ran)
        (timer-event-handler timer))))) ; takes it off the list (a repeating one stays)

(defun ailoop-test-flymake ()
  "ailoop's flymake diagnostics in the current buffer: ((line . text) ...)."
  (cl-loop for d in (flymake-diagnostics)
           collect (list (cons 'line (line-number-at-pos (flymake-diagnostic-beg d)))
                         (cons 'text (flymake-diagnostic-text d))
                         (cons 'code (let ((lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
                                       (and lsp (format "%s" (plist-get lsp :code))))))))

(defun ailoop-test-has-code (prefix)
  (cl-some (lambda (d) (let ((code (cdr (assq 'code d))))
                         (and code (string-prefix-p prefix code))))
           (ailoop-test-flymake)))

(defun ailoop-test-events-tail ()
  "The end of eglot's events buffer (every message to and from the server), or nil."
  (let ((server (ignore-errors (eglot-current-server))))
    (when server
      (with-current-buffer (jsonrpc-events-buffer server)
        (buffer-substring-no-properties (max (point-min) (- (point-max) 6000)) (point-max))))))

(defun ailoop-test-run ()
  (load (getenv "AILOOP_TEST_CONFIG") nil t)
  (find-file (getenv "AILOOP_TEST_FILE"))
  (ailoop-test-note 'major_mode (symbol-name major-mode))
  ;; `eglot-ensure' connects from post-command-hook, after the command that opened the
  ;; file: the command loop runs that hook; batch Emacs has no command loop.
  (ailoop-test-command-done)
  (ailoop-test-wait "eglot to connect" (lambda () (and (eglot-current-server) eglot--managed-mode)))
  (let ((server (eglot-current-server)))
    (ailoop-test-note 'server_command (process-command (jsonrpc--process server)))
    (ailoop-test-note 'project_root (expand-file-name (project-root (eglot--project server)))))
  (ailoop-test-note 'flymake (and (bound-and-true-p flymake-mode) t))
  (goto-char (point-max))
  (let ((first-line (line-number-at-pos)))
    (insert (getenv "AILOOP_TEST_SNIPPET"))
    (ailoop-test-command-done)
    (ailoop-test-note 'first_line first-line)
    (ailoop-test-wait "ailoop's marker in flymake" (lambda () (ailoop-test-has-code "ai-snippet")))
    (ailoop-test-wait "ruff's finding in flymake" (lambda () (ailoop-test-has-code "ruff:")))
    (ailoop-test-note 'diagnostics (ailoop-test-flymake))
    ;; M-x eglot-code-actions on a line of the snippet; the prompt is answered Reject
    (goto-char (point-min))
    (forward-line (+ first-line 1))
    (let (offered)
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt collection &rest _)
                   (setq offered (mapcar #'car collection))
                   (or (cl-find-if (lambda (title) (string-prefix-p "Reject AI snippet" title)) offered)
                       (error "No Reject action among %S" offered)))))
        ;; the command came from the keyboard (M-x eglot-code-actions RET), not a mouse
        ;; click: eglot asks in the minibuffer, not with a popup menu
        (let ((last-nonmenu-event ?\r))
          (call-interactively #'eglot-code-actions)
          (ailoop-test-command-done)))
      (ailoop-test-note 'offered (vconcat offered)))
    ;; the marker goes once the server recorded the rejection
    (ailoop-test-wait "the marker to go" (lambda () (not (ailoop-test-has-code "ai-snippet"))))
    (ailoop-test-note 'diagnostics_after (ailoop-test-flymake)))
  ;; a one-line completion, reported first with docs/emacs.md's my/ailoop-generated
  (goto-char (point-max))
  (my/ailoop-generated "copilot")
  (let ((line (line-number-at-pos)))
    (insert (getenv "AILOOP_TEST_COMPLETION"))
    (ailoop-test-command-done)
    (ailoop-test-note 'completion_line line)
    (ailoop-test-wait "the marker of the one-line completion"
                      (lambda () (member line (ailoop-test-marker-lines))))))

(defun ailoop-test-marker-lines ()
  "The lines of ailoop's markers (code ai-snippet) in flymake."
  (cl-loop for d in (ailoop-test-flymake)
           when (equal (cdr (assq 'code d)) "ai-snippet")
           collect (cdr (assq 'line d))))

(let ((ok (condition-case err
              (progn (ailoop-test-run) t)
            (error (ailoop-test-note 'error (error-message-string err))
                   (ailoop-test-note 'eglot_events (ailoop-test-events-tail))
                   nil))))
  (ailoop-test-note 'ok (if ok t :json-false))
  (let ((server (ignore-errors (eglot-current-server))))
    (when server
      (ignore-errors (eglot-shutdown server))))
  (with-temp-file (getenv "AILOOP_TEST_RESULT")
    (insert (json-encode ailoop-test-result)))
  (kill-emacs (if ok 0 1)))

;;; eglot_driver.el ends here
