// The popup's callback page hands the code to the window that opened it, then closes.
import { completePopupCallback } from "@keyport/client/browser";

completePopupCallback();
